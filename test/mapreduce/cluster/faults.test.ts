// Fault tests in cluster mode: kill -9 a worker process during the map stage, while reducers fetch
// shuffle blocks, and during the reduce stage; the saved output must be byte-identical to the
// fault-free run. Runs per scenario: SWITCHYARD_CLUSTER_FAULT_RUNS (default 1; 20 by hand).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../../src/mapreduce/index.js'
import { ClusterExecutor } from '../../../src/mapreduce/cluster/cluster-executor.js'
import { SECRET, startCluster, type TestCluster } from './fixtures/cluster.js'

const RUNS = Number(process.env.SWITCHYARD_CLUSTER_FAULT_RUNS ?? '1')

function corpus(dir: string): string {
  const lines: string[] = []
  let x = 11
  for (let i = 0; i < 3000; i++) {
    const ws: string[] = []
    for (let j = 0; j < 6; j++) {
      x = (x * 1103515245 + 12345) % 2147483648
      ws.push(`w${x % 500}`)
    }
    lines.push(ws.join(' '))
  }
  const file = join(dir, 'input.txt')
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

export function digestDir(dir: string): string {
  const h = createHash('sha256')
  for (const f of readdirSync(dir).sort()) {
    if (f.startsWith('_') && f !== '_SUCCESS') continue
    h.update(f).update(readFileSync(join(dir, f)))
  }
  return h.digest('hex')
}

/** Word count whose map and reduce sides each take a few hundred ms per task (time to aim a kill). */
async function job(ctx: Context, input: string, out: string): Promise<void> {
  await ctx
    .textFile(input, { minPartitions: 6 })
    .mapPartitions(async function* (lines, env) {
      const end = Date.now() + env.mapMs
      while (Date.now() < end) {
        // simulated map-side work
      }
      yield* lines
    }, { env: { mapMs: 300 } })
    .flatMap((line) => line.split(' '))
    .map((w) => [w, 1] as const)
    .reduceByKey((a, b) => a + b, { partitions: 6 })
    .mapPartitions(async function* (pairs) {
      const end = Date.now() + 150
      while (Date.now() < end) {
        // simulated reduce-side work
      }
      yield* pairs
    })
    .sortByKey(true, { partitions: 3 })
    .saveAsTextFile(out)
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

type Phase = 'map' | 'fetch' | 'reduce'

async function faultRun(cluster: TestCluster, input: string, out: string, phase: Phase): Promise<{ killed: string; fetchFailures: number }> {
  const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 3 })
  const ctx = new Context({ executor })
  const running = job(ctx, input, out)
  let killed = ''
  try {
    let firstStage = -1
    const target = await waitFor(`a ${phase} task`, () => {
      const tasks = executor.runningTasks()
      if (firstStage < 0 && tasks.length > 0) firstStage = Math.min(...tasks.map((x) => x.stageId))
      if (phase === 'map') return tasks.find((t) => t.stageId === firstStage)
      // Any later stage reads the first shuffle: 'fetch' strikes as it starts, 'reduce' once under way.
      return tasks.find((t) => t.stageId > firstStage && firstStage >= 0)
    })
    await new Promise((r) => setTimeout(r, phase === 'fetch' ? Math.random() * 20 : Math.random() * 120))
    let victim = target.workerId
    if (phase === 'fetch') {
      // A worker that holds map outputs but is not the one we aimed at, so other reducers must fetch from it.
      const alive = cluster.coordinator.aliveWorkers().map((w) => w.id)
      victim = alive.find((id) => id !== target.workerId) ?? target.workerId
    }
    const pid = cluster.coordinator.workers().find((w) => w.id === victim)?.pid
    assert.ok(pid !== undefined && pid > 0)
    process.kill(pid, 'SIGKILL')
    killed = `${victim} (pid ${pid})`
    await running
  } finally {
    await ctx.stop()
  }
  return { killed, fetchFailures: executor.fetchFailures }
}

test(`kill -9 a worker during map, shuffle fetch and reduce (${RUNS} runs each): output sha256 equals the fault-free run`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-faults-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const input = corpus(dir)
  const cluster = await startCluster(3)
  t.after(() => cluster.stop())

  const baseline = join(dir, 'baseline')
  {
    const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 3 })
    const ctx = new Context({ executor })
    await job(ctx, input, baseline).finally(() => ctx.stop())
  }
  const expected = digestDir(baseline)
  t.diagnostic(`fault-free run done`)
  let fetchFailures = 0
  let n = 0
  for (const phase of ['map', 'fetch', 'reduce'] as const) {
    for (let i = 0; i < RUNS; i++) {
      const out = join(dir, `out-${phase}-${i}`)
      const started = Date.now()
      const r = await faultRun(cluster, input, out, phase)
      t.diagnostic(`${phase} run ${i}: killed ${r.killed}, ${Date.now() - started} ms, fetch failures ${r.fetchFailures}`)
      fetchFailures += r.fetchFailures
      assert.ok(existsSync(join(out, '_SUCCESS')))
      assert.equal(digestDir(out), expected, `${phase} run ${i}: output differs after killing ${r.killed}`)
      n++
      await cluster.addWorker()
      await cluster.coordinator.waitForWorkers(3)
    }
  }
  t.diagnostic(`${n} fault runs, ${fetchFailures} shuffle fetch failures recovered by recomputation`)
})

test('negative control: the digest check does see a changed output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-neg-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'part-00000'), 'a\t1\n')
  const before = digestDir(dir)
  writeFileSync(join(dir, 'part-00000'), 'a\t2\n')
  assert.notEqual(digestDir(dir), before)
})
