// taskTimeoutMs: a task attempt running longer fails as an attempt, and in local mode the worker
// process running it is killed (a busy loop never yields to be cancelled) and replaced; after
// maxTaskAttempts the job fails with ERR_JOB_TASK_FAILED naming the timeout instead of hanging.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'
import { resolveOptions } from '../../src/mapreduce/options.js'

const sc = new Context({ workers: 2, taskTimeoutMs: 1500, maxTaskAttempts: 2 })
after(async () => { await sc.stop() })

test('a task stuck in a busy loop times out on every attempt and fails the job, naming the timeout', { timeout: 90_000 }, async () => {
  const started = Date.now()
  await assert.rejects(sc.range(0, 8, 1, 4).map((x) => { if (x === 5) for (;;) { /* stuck */ } return x }).collect(), (err: { code?: string; message: string }) => {
    assert.equal(err.code, JobErrorCodes.TASK_FAILED)
    assert.match(err.message, /partition 2 failed 2 times; last error: timed out after 1500 ms \(taskTimeoutMs\)/)
    return true
  })
  const ms = Date.now() - started
  assert.ok(ms < 60_000, `took ${ms} ms`)
  // The stuck processes were killed and replaced: the context still runs jobs.
  assert.equal(await sc.range(0, 100, 1, 4).count(), 100)
})

test('the option defaults to 0 (no limit) and is validated', () => {
  assert.equal(resolveOptions({}).taskTimeoutMs, 0)
  assert.throws(() => resolveOptions({ taskTimeoutMs: -1 }), { code: JobErrorCodes.INVALID_ARGUMENT })
})
