// cache()/persist() levels with LRU eviction, unpersist(), checkpoint(), broadcast variables,
// accumulators counted once per successful task (retries and speculative copies included) and
// speculative execution with exactly-once output commit. Local mode (the same scheduler as
// cluster mode); the cluster run checks cache locality and broadcast shipping over TCP.
import { after, before, test } from 'node:test'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../../src/mapreduce/index.js'
import { ClusterExecutor } from '../../../src/mapreduce/cluster/cluster-executor.js'
import { freshStats, root, SECRET, startCluster } from './fixtures/cluster.js'

const N = 2000

// One local Context (2 worker processes) shared by the tests that need no special options.
let shared: Context
before(() => {
  shared = new Context({ workers: 2 })
})
after(() => shared.stop())

test('cache(): a second action reuses persisted partitions (no recomputation); unpersist() recomputes', async () => {
  const ctx = shared
  const computed = ctx.accumulator()
  const ds = ctx.range(0, N, 1, 4).map((x, env) => {
    env.acc.add(1)
    return x * 2
  }, { env: { acc: computed } })
  ds.cache()
  assert.equal(ds.storageLevel, 'MEMORY')
  assert.equal(await ds.count(), N)
  assert.equal(computed.value, N)
  assert.equal(await ds.reduce((a, b) => a + b), N * (N - 1))
  assert.equal(computed.value, N, 'served from the cache')
  ds.unpersist()
  assert.equal(await ds.count(), N)
  assert.equal(computed.value, 2 * N, 'recomputed after unpersist')
})

test('negative control: without cache() the second action recomputes', async () => {
  const ctx = shared
  const computed = ctx.accumulator()
  const ds = ctx.range(0, N, 1, 4).map((x, env) => (env.acc.add(1), x), { env: { acc: computed } })
  await ds.count()
  await ds.count()
  assert.equal(computed.value, 2 * N)
})

test('persist levels under a tiny memory budget: MEMORY recomputes evicted partitions, MEMORY_AND_DISK and DISK read them back', async (t) => {
  // 1 MiB * 0.01 = ~10 KB per worker: far less than one partition.
  const ctx = new Context({ workers: 2, memoryPerWorkerMb: 1, storageFraction: 0.01 })
  t.after(() => ctx.stop())
  const expected = Array.from({ length: N }, (_, i) => `row-${i}-${'x'.repeat(20)}`)
  for (const [level, recomputes] of [['MEMORY', true], ['MEMORY_AND_DISK', false], ['DISK', false]] as const) {
    const computed = ctx.accumulator()
    const ds = ctx.range(0, N, 1, 4).map((i, env) => (env.acc.add(1), `row-${i}-${'x'.repeat(20)}`), { env: { acc: computed } }).persist(level)
    assert.deepEqual(await ds.collect(), expected)
    assert.deepEqual(await ds.collect(), expected, `${level}: same result`)
    assert.equal(computed.value, recomputes ? 2 * N : N, `${level}: partitions ${recomputes ? 'recomputed' : 'read back'}`)
  }
})

test('checkpoint() writes partitions and cuts the lineage', async () => {
  const ctx = shared
  const computed = ctx.accumulator()
  let ds = ctx.range(0, 300, 1, 3).map((x, env) => (env.acc.add(1), [x % 7, x] as const), { env: { acc: computed } }).reduceByKey((a, b) => a + b)
  for (let i = 0; i < 5; i++) ds = ds.mapValues((v) => v + 1)
  await ds.checkpoint()
  assert.ok(ds.isCheckpointed)
  const n = computed.value
  const a = (await ds.collect()).sort((x, y) => x[0] - y[0])
  const b = (await ds.map(([k, v]) => [k, v * 2] as const).collect()).sort((x, y) => x[0] - y[0])
  assert.equal(computed.value, n, 'no parent was recomputed after the checkpoint')
  assert.equal(a.length, 7)
  assert.deepEqual(b.map(([k, v]) => [k, v / 2]), a.map(([k, v]) => [k, v]))
})

test('broadcast values reach every task; accumulators count once per successful task despite retries', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-acc-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const ctx = shared
  const names = ctx.broadcast(new Map([[0, 'zero'], [1, 'one'], [2, 'two']]))
  const seen = ctx.accumulator()
  const out = await ctx
    .range(0, 90, 1, 3)
    .map((x, env) => {
      env.seen.add(1)
      // The first attempt of the task that sees 45 fails after counting: that count must not stick.
      if (x === 45 && !process.getBuiltinModule('node:fs').existsSync(env.marker)) {
        process.getBuiltinModule('node:fs').writeFileSync(env.marker, 'x')
        throw new Error('transient failure')
      }
      return env.names.value.get(x % 3)
    }, { env: { names, seen, marker: join(dir, 'failed-once') } })
    .countByValue()
  assert.ok(existsSync(join(dir, 'failed-once')), 'the failing attempt ran')
  assert.deepEqual(Object.fromEntries(out instanceof Map ? out : Object.entries(out)), { zero: 30, one: 30, two: 30 })
  assert.equal(seen.value, 90, 'updates of the failed attempt were dropped')
})

test('speculative execution: a straggler gets a backup, output is committed once, accumulators count once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-spec-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const ctx = new Context({ workers: 3, speculation: true })
  t.after(() => ctx.stop())
  const acc = ctx.accumulator()
  const started = Date.now()
  await ctx
    .range(0, 800, 1, 8)
    .mapPartitions(async function* (xs, env, p) {
      let n = 0
      const fs = process.getBuiltinModule('node:fs')
      // Partition 5's first attempt is a straggler (30 s); its backup runs at normal speed. The job
      // must end well before the straggler could (the margin covers three workers starting on a
      // loaded machine; a run with the backup takes about 3-6 s).
      const slow = p === 5 && !fs.existsSync(env.marker)
      if (slow) fs.writeFileSync(env.marker, 'x')
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, slow ? 30_000 : 150)
      for await (const x of xs) {
        n++
        yield `${p}:${x}`
      }
      env.acc.add(n)
    }, { env: { acc, marker: join(dir, 'slow-once') } })
    .saveAsTextFile(join(dir, 'out'))
  const elapsed = Date.now() - started
  assert.ok(elapsed < 25_000, `the backup finished the job before the straggler (${elapsed} ms)`)
  const parts = readdirSync(join(dir, 'out')).filter((f) => f.startsWith('part-')).sort()
  assert.equal(parts.length, 8)
  const lines = parts.flatMap((f) => readFileSync(join(dir, 'out', f), 'utf8').split('\n').filter(Boolean))
  assert.equal(lines.length, 800)
  assert.equal(new Set(lines).size, 800)
  assert.equal(acc.value, 800)
  assert.ok(existsSync(join(dir, 'out', '_SUCCESS')))
})

test('cluster mode: cached partitions stay on their workers across jobs; a broadcast is fetched once per worker', async (t) => {
  // --no-shared-fs: workers behave as on other machines and fetch every module / broadcast.
  const cluster = await startCluster(2, { workerArgs: ['--no-shared-fs'] })
  t.after(() => cluster.stop())
  const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 2 })
  const ctx = new Context({ executor })
  t.after(() => ctx.stop())
  const computed = ctx.accumulator()
  const table = ctx.broadcast(Array.from({ length: 1000 }, (_, i) => i * 3))
  const ds = ctx.range(0, N, 1, 6).map((x, env) => (env.acc.add(1), env.table.value[x % 1000] as number), { env: { acc: computed, table } }).cache()
  const first = await ds.reduce((a, b) => a + b)
  for (let i = 0; i < 3; i++) assert.equal(await ds.reduce((a, b) => a + b), first)
  assert.equal(computed.value, N, 'every later job read the cached partitions where they were')
  await freshStats(cluster.coordinator)
  const fetches = cluster.coordinator.workers().map((w) => w.stats.blobFetches ?? 0)
  assert.deepEqual(fetches, [1, 1], `each worker fetched the broadcast exactly once: ${JSON.stringify(cluster.coordinator.workers().map((w) => w.stats))} blobs ${cluster.coordinator.blobs.size}`)
  assert.equal(cluster.coordinator.blobs.size, 1, 'the broadcast was uploaded once, content-addressed')
})

test('cluster mode: kill -9 a worker holding cached partitions: MEMORY recomputes only its partitions from lineage, MEMORY_2 recomputes none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-replica-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const cluster = await startCluster(3)
  t.after(() => cluster.stop())
  const ctx = new Context({ executor: new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 3 }) })
  t.after(() => ctx.stop())
  const P = 6
  const PER = 300
  const persisted = async (level: 'MEMORY' | 'MEMORY_2', tag: string) => {
    const computed = ctx.accumulator()
    const ds = ctx
      .range(0, P * PER, 1, P)
      .mapPartitions(async function* (xs, env, p) {
        // Which task process computed partition p (one line per computation).
        process.getBuiltinModule('node:fs').appendFileSync(`${env.dir}/${env.tag}-${p}`, `${process.pid}\n`)
        for await (const x of xs) {
          env.acc.add(1)
          yield x * 3
        }
      }, { env: { acc: computed, dir, tag } })
      .persist(level)
    const sum = await ds.reduce((a, b) => a + b)
    assert.equal(computed.value, P * PER, `${level}: every record computed once (a second copy's updates are not counted)`)
    return { ds, computed, sum }
  }
  const plain = await persisted('MEMORY', 'm')
  const twice = await persisted('MEMORY_2', 'm2')
  const pids = (tag: string, p: number): number[] => readFileSync(join(dir, `${tag}-${p}`), 'utf8').trim().split('\n').map(Number)
  const daemonOf = (pid: number): number => Number((readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ')[1])
  for (let p = 0; p < P; p++) {
    const copies = pids('m2', p).map(daemonOf)
    assert.equal(copies.length, 2, `MEMORY_2 partition ${p} was computed twice`)
    assert.notEqual(copies[0], copies[1], `MEMORY_2 partition ${p} is held by two different workers`)
  }
  // The victim holds partition 0 of the MEMORY dataset, so MEMORY must recompute something.
  const victim = daemonOf(pids('m', 0)[0] as number)
  const lost = Array.from({ length: P }, (_, p) => p).filter((p) => daemonOf(pids('m', p)[0] as number) === victim)
  process.kill(victim, 'SIGKILL')
  const deadline = Date.now() + 10_000
  while (cluster.coordinator.aliveWorkers().length > 2) {
    assert.ok(Date.now() < deadline, 'the killed worker was declared lost')
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.equal(await plain.ds.reduce((a, b) => a + b), plain.sum)
  assert.equal(plain.computed.value, P * PER + lost.length * PER, `MEMORY: exactly the ${lost.length} lost partitions (${lost.join(', ')}) were recomputed from lineage`)
  assert.equal(await twice.ds.reduce((a, b) => a + b), twice.sum)
  assert.equal(twice.computed.value, P * PER, 'MEMORY_2: every partition was served by its surviving copy')
  for (let p = 0; p < P; p++) assert.equal(pids('m2', p).length, 2, `MEMORY_2 partition ${p} was not recomputed`)
})

test('mapPartitions records.batches() yields the same records as per-record iteration, cached or not, and never repeats one taken with next()', async () => {
  const ctx = shared
  const base = ctx.range(0, 10_000, 1, 3).map((x) => x * 2)
  const cached = ctx.range(0, 10_000, 1, 3).map((x) => x * 2).cache()
  await cached.count()
  for (const ds of [base, cached]) {
    const perRecord = await ds.mapPartitions(async function* (xs) { for await (const x of xs) yield x }).collect()
    const batched = await ds.mapPartitions(async function* (xs) {
      for await (const b of xs.batches()) {
        if (!Array.isArray(b)) throw new Error('batches() must yield arrays')
        yield* b
      }
    }).collect()
    assert.deepEqual(batched, perRecord)
    // Two records by next(), the rest by batches(): every record exactly once, in order.
    const mixed = await ds.mapPartitions(async function* (xs) {
      const it = xs[Symbol.asyncIterator]()
      for (let i = 0; i < 2; i++) {
        const r = await it.next()
        if (r.done !== true) yield r.value
      }
      for await (const b of xs.batches()) yield* b
    }).collect()
    assert.deepEqual(mixed, perRecord)
  }
})

test('cluster mode: unpersist() frees a dataset on every worker (memory and disk) and Context.stop() frees the rest', async (t) => {
  const cluster = await startCluster(2)
  t.after(() => cluster.stop())
  const ctx = new Context({ executor: new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 2 }) })
  t.after(() => ctx.stop())
  // Per-worker bytes of persisted partitions, as the workers report them in their heartbeats.
  const held = (): number[] => cluster.coordinator.workers().filter((w) => w.state === 'alive').map((w) => w.stats.cacheBytes ?? 0)
  const sum = (v: number[]): number => v.reduce((x, y) => x + y, 0)
  const until = async (what: string, ok: (v: number[]) => boolean): Promise<number[]> => {
    const deadline = Date.now() + 10_000
    while (!ok(held())) {
      if (Date.now() > deadline) assert.fail(`${what}: cacheBytes per worker ${JSON.stringify(held())}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    return held()
  }
  const onDisk = ctx.range(0, N, 1, 4).map((x) => `disk-${x}`).persist('DISK')
  const inMemory = ctx.range(0, N, 1, 4).map((x) => `mem-${x}`).cache()
  assert.equal(await onDisk.count(), N)
  assert.equal(await inMemory.count(), N)
  const both = sum(await until('both datasets held', (v) => v.length === 2 && sum(v) > 0))
  await freshStats(cluster.coordinator) // every worker has reported both by now
  const before = sum(await until('both datasets held', (v) => sum(v) >= both))
  onDisk.unpersist()
  const after = sum(await until('the DISK dataset dropped', (v) => sum(v) < before))
  assert.ok(after > 0, 'the cached dataset is still held')
  assert.equal(await inMemory.count(), N)
  await ctx.stop()
  await until('everything freed after Context.stop()', (v) => sum(v) === 0)
})

test('cluster mode: a driver killed with SIGKILL leaves nothing cached on the workers', async (t) => {
  const cluster = await startCluster(2)
  t.after(() => cluster.stop())
  const held = (): number => cluster.coordinator.workers().filter((w) => w.state === 'alive').reduce((n, w) => n + (w.stats.cacheBytes ?? 0), 0)
  const script = `
    import { Context } from './src/mapreduce/index.ts'
    import { ClusterExecutor } from './src/mapreduce/cluster/cluster-executor.ts'
    const ctx = new Context({ executor: new ClusterExecutor({ master: process.env.MASTER, secret: process.env.SWITCHYARD_SECRET, minWorkers: 2 }) })
    const ds = ctx.range(0, ${N}, 1, 4).map((x) => 'kept-' + x).cache()
    console.log(await ds.count())
    setInterval(() => {}, 1000)`
  const driver = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, MASTER: cluster.master, SWITCHYARD_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => driver.kill('SIGKILL'))
  const [line] = (await once(createInterface({ input: driver.stdout as NodeJS.ReadableStream }), 'line')) as [string]
  assert.equal(Number(line), N)
  const waitFor = async (what: string, ok: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000
    while (!ok()) {
      if (Date.now() > deadline) assert.fail(`${what}: ${held()} bytes held`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  await waitFor('the driver cached its dataset', () => held() > 0)
  driver.kill('SIGKILL')
  await waitFor('the workers dropped the dead driver\'s partitions', () => held() === 0)
})

test('cluster mode: a worker\'s --memory-mb caps what it caches, whatever budget the driver asks for', async (t) => {
  // --memory-mb 1: at most 0.5 MiB of cached partitions; each partition below is ~1.4 MiB.
  const cluster = await startCluster(1, { workerArgs: ['--memory-mb', '1'] })
  t.after(() => cluster.stop())
  const roomy = await startCluster(1)
  t.after(() => roomy.stop())
  const computedTimes = async (master: string): Promise<number> => {
    const ctx = new Context({ executor: new ClusterExecutor({ master, secret: SECRET, minWorkers: 1 }), memoryPerWorkerMb: 1024 })
    try {
      const computed = ctx.accumulator()
      const ds = ctx.range(0, 40_000, 1, 2).map((x, env) => (env.acc.add(1), `record-${x}-${'y'.repeat(24)}`), { env: { acc: computed } }).cache()
      await ds.count()
      await ds.count()
      return computed.value / 40_000
    } finally {
      await ctx.stop()
    }
  }
  try {
    assert.equal(await computedTimes(roomy.master), 1, 'without --memory-mb the driver budget holds the dataset')
    assert.equal(await computedTimes(cluster.master), 2, 'with --memory-mb 1 nothing fits: the second action recomputes')
  } catch (err) {
    // Failed once in a clean-clone CI run under the full suite's load ("worker w4 lost: connection
    // closed" on every attempt) and never alone: keep what the workers said for the next time.
    for (const [name, c] of [['--memory-mb 1', cluster], ['roomy', roomy]] as const) t.diagnostic(`${name} worker output:\n${c.workers.map((w) => w.output.join('')).join('\n---\n').slice(-4000)}`)
    throw err
  }
})
