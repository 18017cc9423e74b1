// A task carries only what its partition reads: its own parallelize slice, and for each map output
// of a shuffle only the block sizes of the reduce partitions it fetches. Before, every task carried
// every slice and every map output's full size table, so a job's bytes grew with partitions
// squared (100k records into 10,000 partitions took 83-98 s, nearly all in IPC writes). The size
// of what the scheduler hands the executor is measured through a wrapping executor; the jobs that
// read other partitions than their own (union, coalesce, cartesian, joins after shuffles) check
// that nothing a task needs was left out.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { serialize } from 'node:v8'
import { Context } from '../../src/mapreduce/index.js'
import type { Executor, ExecutorListener, WorkerInfo } from '../../src/mapreduce/index.js'
import { LocalExecutor } from '../../src/mapreduce/local-executor.js'
import type { TaskDescription } from '../../src/mapreduce/task-spec.js'

class Measuring implements Executor {
  readonly kind = 'local'
  readonly inner = new LocalExecutor({ workers: 2 })
  /** Serialised bytes of each task launched since the last reset, by stage. */
  sizes = new Map<number, number[]>()
  start(listener: ExecutorListener): Promise<readonly WorkerInfo[]> { return this.inner.start(listener) }
  launch(workerId: string, task: TaskDescription): void {
    const list = this.sizes.get(task.stageId) ?? []
    list.push(serialize(task).byteLength)
    this.sizes.set(task.stageId, list)
    this.inner.launch(workerId, task)
  }
  cancel(): void { this.inner.cancel() }
  abort(taskId: string): void { this.inner.abort(taskId) }
  endJob(jobId: string, scratchDir: string): void { this.inner.endJob(jobId, scratchDir) }
  dropCached(cacheKey: string): void { this.inner.dropCached(cacheKey) }
  close(): Promise<void> { return this.inner.close() }
  /** The largest task of the stage with the most tasks since the last call. */
  largestOfWidest(): { tasks: number; maxBytes: number } {
    let best: number[] = []
    for (const l of this.sizes.values()) if (l.length > best.length) best = l
    this.sizes = new Map()
    return { tasks: best.length, maxBytes: Math.max(...best) }
  }
}

const executor = new Measuring()
const sc = new Context({ executor })
after(async () => { await sc.stop() })

test('parallelize: each task carries its own slice, not the whole array', async () => {
  const data = Array.from({ length: 20_000 }, (_, i) => i * 1000)
  assert.equal(await sc.parallelize(data, 1000).map((x) => x + 1).count(), 20_000)
  const { tasks, maxBytes } = executor.largestOfWidest()
  assert.equal(tasks, 1000)
  // The whole array is about 100 KB serialised; one slice of 20 numbers is a few hundred bytes.
  assert.ok(maxBytes < 16 * 1024, `a task of 1000 is ${maxBytes} bytes`)
})

test('shuffle: a reduce task carries the sizes of its own blocks, not every map output\'s whole table', async () => {
  const pairs = Array.from({ length: 20_000 }, (_, i) => [i, 1] as [number, number])
  const reduced = await sc.parallelize(pairs, 8).reduceByKey((a, b) => a + b, { partitions: 2000 }).count()
  assert.equal(reduced, 20_000)
  const { tasks, maxBytes } = executor.largestOfWidest()
  assert.equal(tasks, 2000)
  // 8 map outputs x 2000 sizes would be about 16k numbers per task.
  assert.ok(maxBytes < 16 * 1024, `a reduce task of 2000 is ${maxBytes} bytes`)
})

test('jobs whose partitions read other partitions get every input they read', async () => {
  const a = sc.parallelize(Array.from({ length: 100 }, (_, i) => i), 10)
  const b = sc.parallelize(Array.from({ length: 50 }, (_, i) => 100 + i), 5)
  const all = Array.from({ length: 150 }, (_, i) => i)
  assert.deepEqual((await a.union(b).coalesce(4).collect()).sort((x, y) => x - y), all, 'union then coalesce')
  assert.deepEqual((await a.union(b).union(a).collect()).sort((x, y) => x - y), [...all, ...all.slice(0, 100)].sort((x, y) => x - y), 'a dataset twice in one plan')
  const pairs = await a.cartesian(b).collect()
  assert.equal(pairs.length, 5000)
  assert.equal(new Set(pairs.map(([x, y]) => `${x},${y}`)).size, 5000, 'cartesian')
  // Shuffles, then narrow operations that move partitions.
  const kv = sc.parallelize(Array.from({ length: 3000 }, (_, i) => [i % 300, i] as [number, number]), 7)
  const sums = new Map<number, number>()
  for (let i = 0; i < 3000; i++) sums.set(i % 300, (sums.get(i % 300) ?? 0) + i)
  const expected = [...sums].sort((x, y) => x[0] - y[0])
  const byKey = (x: readonly [number, number], y: readonly [number, number]): number => x[0] - y[0]
  assert.deepEqual((await kv.reduceByKey((x, y) => x + y, { partitions: 40 }).coalesce(3).collect()).sort(byKey), expected, 'reduceByKey then coalesce')
  const left = kv.reduceByKey((x, y) => x + y, { partitions: 40 })
  const right = kv.reduceByKey((x, y) => x + y, { partitions: 30 })
  const both = await left.union(right).collect()
  assert.deepEqual(both.sort(byKey), [...expected, ...expected].sort(byKey), 'union of two shuffles')
  const joined = await left.join(sc.parallelize(expected.map(([k]) => [k, -k] as [number, number]), 3), { partitions: 17 }).collect()
  assert.deepEqual(joined.map(([k, [s, n]]) => [k, s, n]).sort((x, y) => (x[0] as number) - (y[0] as number)), expected.map(([k, s]) => [k, s, -k]), 'join')
  const crossed = await kv.reduceByKey((x, y) => x + y, { partitions: 6 }).cartesian(b.coalesce(2)).count()
  assert.equal(crossed, 300 * 50, 'cartesian of a shuffle')
  const sorted = await kv.reduceByKey((x, y) => x + y, { partitions: 9 }).sortByKey(true, { partitions: 5 }).collect()
  assert.deepEqual(sorted, expected, 'sortByKey after a shuffle')
})
