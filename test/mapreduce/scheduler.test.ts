// Scheduler placement of MEMORY_2 copies, over a fake executor (no processes): the second copies of
// one worker's partitions are spread over the other workers, so when that worker is lost its tasks
// are rerun on different survivors instead of queueing behind one.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Context, type Dataset } from '../../src/mapreduce/index.js'
import type { Executor, ExecutorListener, WorkerInfo } from '../../src/mapreduce/executor.js'
import type { PlanNode, TaskDescription } from '../../src/mapreduce/task-spec.js'

function cacheKeyOf(plan: PlanNode): string {
  let node: PlanNode | undefined = plan
  while (node !== undefined) {
    if (node.op === 'cached') return node.cacheKey
    const input: unknown = (node as { input?: unknown }).input
    node = (input as { kind?: string } | undefined)?.kind === 'narrow' ? (input as { node: PlanNode }).node : undefined
  }
  throw new Error('plan reads no persisted dataset')
}

/** Workers with one slot and a queue; each keeps the partitions it computed, like a worker's cache. */
class FakeCluster implements Executor {
  readonly kind = 'fake'
  readonly queuesTasks = true
  readonly workers: WorkerInfo[]
  readonly cache = new Map<string, Set<string>>()
  /** Every launch in order: the cache block its task reads and the worker. */
  readonly launches: { block: string; workerId: string }[] = []
  readonly #queues = new Map<string, TaskDescription[]>()
  #listener: ExecutorListener = () => {}
  /** Tasks sent to a worker in this set never finish (it is about to be lost). */
  readonly frozen = new Set<string>()
  /** How long a worker takes per task (default: the next turn of the event loop). */
  readonly taskMs = new Map<string, number>()

  constructor(n: number) {
    this.workers = Array.from({ length: n }, (_, i) => ({ id: `w${i + 1}`, slots: 1, address: '' }))
    for (const w of this.workers) {
      this.cache.set(w.id, new Set())
      this.#queues.set(w.id, [])
    }
  }

  async start(listener: ExecutorListener): Promise<readonly WorkerInfo[]> {
    this.#listener = listener
    return this.workers
  }

  launch(workerId: string, task: TaskDescription): void {
    this.launches.push({ block: `${cacheKeyOf(task.plan)}:${task.partition}`, workerId })
    const q = this.#queues.get(workerId) as TaskDescription[]
    q.push(task)
    if (q.length === 1) this.#later(workerId)
  }

  #later(workerId: string): void {
    const ms = this.taskMs.get(workerId)
    if (ms === undefined) setImmediate(() => this.#runNext(workerId))
    else setTimeout(() => this.#runNext(workerId), ms)
  }

  #runNext(workerId: string): void {
    const q = this.#queues.get(workerId) as TaskDescription[]
    const task = q[0]
    if (task === undefined || this.frozen.has(workerId)) return
    q.shift()
    const block = `${cacheKeyOf(task.plan)}:${task.partition}`
    this.cache.get(workerId)?.add(block)
    this.#listener({
      type: 'task-succeeded',
      taskId: task.taskId,
      workerId,
      result: { kind: 'value', value: { has: true, acc: task.partition } },
      metrics: { recordsIn: 1, recordsOut: 1, bytesRead: 0, shuffleWriteBytes: 0, shuffleReadBytes: 0, spillBytes: 0, durationMs: 1, cachedBlocks: [block] },
    })
    if (q.length > 0) this.#later(workerId)
  }

  lose(workerId: string): void {
    this.#queues.set(workerId, [])
    this.#listener({ type: 'worker-lost', workerId, reason: 'killed by the test' })
  }

  holders(block: string): string[] {
    return [...this.cache].filter(([, blocks]) => blocks.has(block)).map(([w]) => w)
  }

  cancel(): void {}
  endJob(): void {}
  async close(): Promise<void> {}
}

const P = 6
const expected = (P * (P - 1)) / 2

/** A MEMORY_2 dataset of P partitions on `cluster`, computed (and copied) once. */
async function persistedOn(t: TestContext, cluster: FakeCluster): Promise<Dataset<number>> {
  const ctx = new Context({ executor: cluster })
  t.after(() => ctx.stop())
  const ds = ctx.range(0, P, 1, P).persist('MEMORY_2')
  assert.equal(await ds.reduce((a, b) => a + b), expected)
  return ds
}

test("MEMORY_2: a worker's partitions have their second copies on different workers, and a lost worker's tasks rerun on different survivors", async (t) => {
  const cluster = new FakeCluster(3)
  const ds = await persistedOn(t, cluster)
  // Second job: every partition runs once, on one of its two holders.
  const before = cluster.launches.length
  assert.equal(await ds.reduce((a, b) => a + b), expected)
  const second = cluster.launches.slice(before)
  assert.equal(second.length, P, 'one task per partition: no second copy was computed again')
  for (const w of cluster.workers) {
    const ran = second.filter((l) => l.workerId === w.id).map((l) => l.block)
    const partners = ran.map((b) => {
      const others = cluster.holders(b).filter((h) => h !== w.id)
      assert.equal(others.length, 1, `${b} is held by ${w.id} and exactly one other worker`)
      return others[0]
    })
    assert.equal(new Set(partners).size, partners.length, `${w.id} ran ${ran.join(', ')}: their second copies are on different workers (${partners.join(', ')})`)
  }
  // Third job: the worker running the first task is lost before any of its tasks finishes.
  const victim = (second[0] as { workerId: string }).workerId
  cluster.frozen.add(victim)
  const start = cluster.launches.length
  const result = ds.reduce((a, b) => a + b)
  while (cluster.launches.length - start < P) await new Promise((r) => setImmediate(r))
  const lost = cluster.launches.slice(start).filter((l) => l.workerId === victim).map((l) => l.block)
  assert.equal(lost.length, 2, `the victim ${victim} was given 2 of the ${P} tasks`)
  cluster.lose(victim)
  assert.equal(await result, expected)
  const reruns = cluster.launches.slice(start + P).map((l) => l.workerId)
  assert.equal(reruns.length, lost.length, 'each lost task was rerun once, from a surviving copy')
  assert.equal(new Set(reruns).size, reruns.length, `the lost tasks (${lost.join(', ')}) were rerun on different survivors (${reruns.join(', ')})`)
})

test('MEMORY_2: first copies are spread evenly even when one worker is much faster, so a lost worker leaves every survivor the same share', async (t) => {
  const cluster = new FakeCluster(3)
  cluster.taskMs.set('w2', 15)
  cluster.taskMs.set('w3', 15) // w1 answers at once: left alone it would take most of the first job
  const ds = await persistedOn(t, cluster)
  // The first launch of each block computed its first copy; later ones are second copies.
  const first = new Map<string, string>()
  for (const l of cluster.launches) if (!first.has(l.block)) first.set(l.block, l.workerId)
  const perWorker = cluster.workers.map((w) => [...first.values()].filter((id) => id === w.id).length)
  assert.deepEqual(perWorker, [2, 2, 2], `first copies per worker: ${perWorker.join(', ')}`)
  cluster.taskMs.set('w1', 15) // from here on equal speeds: the split below is the placement's alone
  // A job in which w2 is lost before any of its tasks finishes: each survivor runs 3 of the 6.
  cluster.frozen.add('w2')
  const start = cluster.launches.length
  const result = ds.reduce((a, b) => a + b)
  while (cluster.launches.filter((l, i) => i >= start && l.workerId === 'w2').length < 2) await new Promise((r) => setImmediate(r))
  cluster.lose('w2')
  assert.equal(await result, expected)
  const ran = cluster.launches.slice(start).filter((l) => l.workerId !== 'w2')
  const survivors = ['w1', 'w3'].map((id) => ran.filter((l) => l.workerId === id).length)
  assert.deepEqual(survivors, [3, 3], `tasks per survivor (w1, w3): ${survivors.join(', ')}`)
  // And the jobs after it: partitions only one survivor holds are placed first, so the others
  // fill in around them and the split stays even.
  for (let job = 0; job < 3; job++) {
    const from = cluster.launches.length
    assert.equal(await ds.reduce((a, b) => a + b), expected)
    const after = ['w1', 'w3'].map((id) => cluster.launches.slice(from).filter((l) => l.workerId === id).length)
    assert.deepEqual(after, [3, 3], `job ${job + 1} after the loss, tasks per survivor (w1, w3): ${after.join(', ')}`)
  }
})
