// taskTimeoutMs in cluster mode: a task attempt running past it fails as an attempt, and the task
// process running it is killed (a busy loop never yields to a cancel) and replaced, so its slot
// frees and the retry can run. Before, the timed-out attempt kept its worker's only slot and the
// job hung. One worker with one task process, so a stuck process would block every retry.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Coordinator } from '../../../src/mapreduce/cluster/coordinator.js'
import { Worker } from '../../../src/mapreduce/cluster/worker.js'
import { EngineTaskRunner } from '../../../src/mapreduce/cluster/engine-runner.js'
import { Context, JobErrorCodes } from '../../../src/mapreduce/index.js'
import { SECRET } from './fixtures/cluster.js'

/**
 * Every job of this context runs under this timeout, including the checks after the stuck job,
 * whose first task waits for a replacement task process to start: 1.5 s failed once in a full run
 * on a loaded 2-core machine (load average 11).
 */
const TIMEOUT_MS = 4000

test('cluster: a task stuck in a busy loop times out on every attempt and fails the job; its task process is replaced', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-ctimeout-'))
  const common = { secret: SECRET, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 5000 }
  const coordinator = await Coordinator.start({ ...common, port: 0 })
  const runner = new EngineTaskRunner({ cores: 1, scratchRoot: join(dir, 'scratch'), cluster: common })
  const worker = new Worker({ ...common, coordinatorHost: '127.0.0.1', coordinatorPort: coordinator.port, cores: 1, cacheDir: join(dir, 'cache'), runner, blocks: runner.blockSource })
  await worker.start()
  const sc = new Context({ master: coordinator.url, secret: SECRET, taskTimeoutMs: TIMEOUT_MS, maxTaskAttempts: 2 })
  t.after(async () => {
    await sc.stop()
    await worker.close()
    await coordinator.close()
    rmSync(dir, { recursive: true, force: true })
  })
  // Control: the same job without the stuck record finishes under the timeout.
  assert.equal(await sc.range(0, 8, 1, 4).count(), 8)
  const pidsBefore = await sc.range(0, 4, 1, 4).map(() => process.pid).collect()
  const started = Date.now()
  const stuck = sc.range(0, 8, 1, 4).map((x) => { if (x === 5) for (;;) { /* stuck */ } return x }).collect()
  const outcome = await Promise.race([
    stuck.then(() => 'succeeded', (err: { code?: string; message: string }) => err),
    new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000).unref()),
  ])
  assert.equal(typeof outcome, 'object', `the job did not fail: ${String(outcome)}`)
  const err = outcome as { code?: string; message: string }
  assert.equal(err.code, JobErrorCodes.TASK_FAILED, err.message)
  assert.match(err.message, new RegExp(`partition 2 failed 2 times; last error: timed out after ${TIMEOUT_MS} ms \\(taskTimeoutMs\\)`))
  t.diagnostic(`failed after ${Date.now() - started} ms`)
  // The stuck process was killed and replaced: the cluster still runs jobs, in a new process.
  assert.equal(await sc.range(0, 100, 1, 4).count(), 100)
  const pidsAfter = await sc.range(0, 4, 1, 4).map(() => process.pid).collect()
  assert.ok(!pidsAfter.includes(pidsBefore[0] as number), `task process ${pidsBefore[0]} still runs tasks`)
})
