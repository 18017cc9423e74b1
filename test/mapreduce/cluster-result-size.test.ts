// Cluster mode: a task result larger than the cluster frame limit fails the job at once with
// ERR_JOB_RESULT_TOO_LARGE, naming the limit; before, the coordinator dropped the worker without
// saying why and the job looped on "worker lost". Coordinator and worker run in this process with
// a 1 MiB frame limit, so a 2 MiB result is over it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Coordinator } from '../../src/mapreduce/cluster/coordinator.js'
import { Worker } from '../../src/mapreduce/cluster/worker.js'
import { EngineTaskRunner } from '../../src/mapreduce/cluster/engine-runner.js'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'

const SECRET = 'test-secret-result-size-24'
const FRAME = 1024 * 1024

test('a task result over the cluster frame limit fails with ERR_JOB_RESULT_TOO_LARGE, without losing the worker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-crs-'))
  const common = { secret: SECRET, maxFrameBytes: FRAME, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 5000 }
  const coordinator = await Coordinator.start({ ...common, port: 0 })
  const runner = new EngineTaskRunner({ cores: 1, scratchRoot: join(dir, 'scratch'), cluster: common })
  const worker = new Worker({ ...common, coordinatorHost: '127.0.0.1', coordinatorPort: coordinator.port, cores: 1, cacheDir: join(dir, 'cache'), runner, blocks: runner.blockSource })
  await worker.start()
  const sc = new Context({ master: coordinator.url, secret: SECRET })
  t.after(async () => {
    await sc.stop()
    await worker.close()
    await coordinator.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const small = await sc.range(0, 100, 1, 2).collect()
  assert.equal(small.length, 100, 'control: a small result crosses')
  const registered = coordinator.counters.workersRegistered
  const started = Date.now()
  await assert.rejects(sc.range(0, 40_000, 1, 1).map((i) => `${i}`.padStart(50, 'x')).collect(), (err: { code?: string; message: string }) => {
    assert.equal(err.code, JobErrorCodes.RESULT_TOO_LARGE, err.message)
    assert.match(err.message, /frame limit/)
    return true
  })
  t.diagnostic(`failed after ${Date.now() - started} ms`)
  assert.equal(coordinator.counters.workersRegistered, registered, 'the worker was never dropped and re-registered')
  assert.equal((await sc.range(0, 10, 1, 2).collect()).length, 10, 'the cluster still runs jobs')
})
