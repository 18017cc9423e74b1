// The worker's task runner: a task sent while the task process is busy waits in that process and
// runs after the current one; when the process dies (kill -9 from inside a task), the task that
// was running fails and the one waiting behind it runs on the replacement process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { EngineTaskRunner, type WireTask } from '../../../src/mapreduce/cluster/engine-runner.js'
import { BlockFetcher } from '../../../src/mapreduce/cluster/block-fetcher.js'
import { resolveCommon } from '../../../src/mapreduce/cluster/options.js'
import type { RemoteTaskContext } from '../../../src/mapreduce/cluster/worker.js'
import type { TaskDescription } from '../../../src/mapreduce/task-spec.js'
import type { TaskOutcome } from '../../../src/mapreduce/task-runner.js'

const cluster = { secret: 'engine-runner-test' }

/** Counts the records of range(0, 10) in 2 partitions; partition 0 kills its process on record 0 when `kill`. */
function wireTask(partition: number, kill: boolean): Buffer {
  const source = kill ? '((x) => { if (x === 0) process.kill(process.pid, "SIGKILL"); return x })' : '((x) => x)'
  const task: TaskDescription = {
    taskId: `j.0.${partition}.0`,
    jobId: 'j',
    stageId: 0,
    partition,
    attempt: 0,
    plan: { id: 1, partitions: 2, op: 'map', fn: { kind: 'source', source }, input: { kind: 'narrow', node: { id: 0, partitions: 2, op: 'range', start: 0, end: 10, step: 1 } } },
    output: { kind: 'count' },
    shuffleInputs: {},
    memoryBudgetBytes: 1 << 24,
    scratchDir: '/nonexistent',
  }
  return serialize({ scope: 'test', task, modules: [] } satisfies WireTask)
}

test('a task queued behind one whose process dies runs on the replacement process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-runner-'))
  const runner = new EngineTaskRunner({ cores: 1, scratchRoot: join(dir, 'scratch'), cluster })
  const fetcher = new BlockFetcher(resolveCommon(cluster))
  t.after(async () => {
    fetcher.close()
    await runner.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await runner.prepare('127.0.0.1:1')
  const ctx = (key: string): RemoteTaskContext => ({ key, workerId: 'w1', signal: new AbortController().signal, fetcher, blobPath: () => Promise.reject(new Error('no blobs here')) })
  const count = async (raw: Promise<unknown>): Promise<unknown> => ((deserialize((await raw) as Buffer) as TaskOutcome).result as { value: unknown }).value

  // Both sent at once to the single process: the second waits there and runs after the first.
  const [a, b] = await Promise.all([count(runner.run(wireTask(0, false), ctx('a'))), count(runner.run(wireTask(1, false), ctx('b')))])
  assert.deepEqual([a, b], [5, 5])

  const dying = runner.run(wireTask(0, true), ctx('dying'))
  const queued = count(runner.run(wireTask(1, false), ctx('queued')))
  await assert.rejects(dying, /task process \d+ exited/)
  assert.equal(await queued, 5, 'the waiting task ran on the replacement process')
  assert.equal(runner.stats().taskProcesses, 1)
})
