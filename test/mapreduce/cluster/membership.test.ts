// Membership and failure semantics with real worker processes: a SIGSTOPped worker is declared
// dead after the heartbeat timeout, its work is redone elsewhere, and when it resumes its late
// results are dropped (fencing) and it re-registers under a new id; a coordinator that dies mid-job
// fails the job cleanly with no _SUCCESS and no partial output.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../../src/mapreduce/index.js'
import { ClusterExecutor } from '../../../src/mapreduce/cluster/cluster-executor.js'
import { SECRET, startCluster } from './fixtures/cluster.js'
import { waitFor as waitForState } from '../../_lib/wait.js'

/** Worker processes and task processes start slowly on a loaded machine: 20 s per wait. */
const waitFor = <T>(what: string, probe: () => T): Promise<NonNullable<T>> => waitForState(what, probe, { timeoutMs: 20_000, intervalMs: 10 })

function slowSquares(ctx: Context, mapMs: number): Promise<(readonly [number, number])[]> {
  return ctx
    .range(0, 600, 1, 6)
    .mapPartitions(async function* (xs, env) {
      const end = Date.now() + env.ms
      while (Date.now() < end) {
        // simulated work, long enough to be caught by SIGSTOP
      }
      yield* xs
    }, { env: { ms: mapMs } })
    .map((x) => [x % 37, x * x] as const)
    .reduceByKey((a, b) => a + b, { partitions: 3 })
    .collect()
}

const sorted = (r: (readonly [number, number])[]): (readonly [number, number])[] => [...r].sort((a, b) => a[0] - b[0])

test('a SIGSTOPped worker is declared dead and replaced; its late results are ignored (fencing)', async (t) => {
  const cluster = await startCluster(3)
  t.after(() => cluster.stop())
  const local = new Context({ workers: 1 })
  const expected = sorted(await slowSquares(local, 0).finally(() => local.stop()))

  const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 3 })
  const ctx = new Context({ executor })
  t.after(() => ctx.stop())
  const job = slowSquares(ctx, 2500)
  const victim = await waitFor('a running task', () => executor.runningTasks()[0])
  const info = cluster.coordinator.workers().find((w) => w.id === victim.workerId)
  assert.ok(info !== undefined)
  process.kill(info.pid, 'SIGSTOP')
  const stoppedAt = Date.now()
  try {
    await waitFor('the stopped worker to be declared dead', () => cluster.coordinator.workers().find((w) => w.id === info.id)?.state === 'dead')
    assert.ok(Date.now() - stoppedAt >= 2000, 'declared dead only after the heartbeat timeout')
    const result = sorted(await job)
    assert.deepEqual(result, expected, 'the job finished on the other workers with the right result')
  } finally {
    process.kill(info.pid, 'SIGCONT')
  }
  // Resumed: its task process finished the old attempt; that report must be dropped, and the
  // worker comes back under a new id and epoch.
  await waitFor('the late result to be ignored', () => cluster.coordinator.counters.staleEventsIgnored >= 1)
  const back = await waitFor('re-registration', () => cluster.coordinator.aliveWorkers().find((w) => w.pid === info.pid && w.id !== info.id))
  assert.ok(back.epoch > info.epoch)
  // The resumed worker is usable again.
  const again = sorted(await slowSquares(ctx, 0))
  assert.deepEqual(again, expected)
})

test('coordinator death fails the running job cleanly: no _SUCCESS, no partial output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-coord-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const cluster = await startCluster(2)
  t.after(() => cluster.stop())
  const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 2 })
  const ctx = new Context({ executor })
  t.after(() => ctx.stop())
  const out = join(dir, 'out')
  const job = ctx
    .range(0, 400, 1, 8)
    .mapPartitions(async function* (xs) {
      const end = Date.now() + 400
      while (Date.now() < end) {
        // keep the job running while the coordinator dies
      }
      yield* xs
    })
    .map((x) => `line ${x}`)
    .saveAsTextFile(out)
  await waitFor('running tasks', () => executor.runningTasks().length > 0)
  // Mid-job: a worker has said (in a heartbeat) that it is running one of them.
  await waitFor('a worker running a task', () => cluster.coordinator.workers().some((w) => (w.stats.runningTasks ?? 0) > 0))
  await cluster.coordinator.close()
  await assert.rejects(job, (err: Error & { code?: string }) => {
    assert.match(String(err.code), /^ERR_(JOB|CLUSTER)_/)
    return true
  })
  assert.ok(executor.lostConnection !== undefined)
  assert.equal(existsSync(join(out, '_SUCCESS')), false)
  const visible = existsSync(out) ? readdirSync(out).filter((f) => f.startsWith('part-')) : []
  assert.deepEqual(visible, [], 'no part file is visible')
})
