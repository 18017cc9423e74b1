// Property tests: for random datasets and partition counts, every operator's result equals a
// plain single-process reference implementation.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { Context, type Dataset } from '../../src/mapreduce/index.js'
import { appendTo } from './fixtures/helpers.js'

type Pair = readonly [number | string, number]

let sc: Context
let dir: string
before(() => {
  sc = new Context({ workers: 2, defaultPartitions: 3 })
  dir = mkdtempSync(join(tmpdir(), 'sy-ops-'))
})
after(async () => {
  await sc.stop()
  rmSync(dir, { recursive: true, force: true })
})

const RUNS = 12
const key = fc.oneof(fc.integer({ min: -3, max: 6 }), fc.constantFrom('a', 'b', 'c', 'dd', ''))
const pairs = fc.array(fc.tuple(key, fc.integer({ min: -100, max: 100 })), { maxLength: 40 }) as fc.Arbitrary<Pair[]>
const nums = fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 40 })
const parts = fc.integer({ min: 1, max: 5 })

const canon = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x) ?? 'undefined').sort()
const sameBag = (actual: readonly unknown[], expected: readonly unknown[]): void => assert.deepEqual(canon(actual), canon(expected))

function groupRef<V>(ps: readonly (readonly [unknown, V])[]): Map<string, { key: unknown; values: V[] }> {
  const m = new Map<string, { key: unknown; values: V[] }>()
  for (const [k, v] of ps) {
    const c = JSON.stringify(k)
    const e = m.get(c) ?? { key: k, values: [] }
    e.values.push(v)
    m.set(c, e)
  }
  return m
}

async function prop<T extends unknown[]>(arbs: { [K in keyof T]: fc.Arbitrary<T[K]> }, body: (...args: T) => Promise<void>, numRuns = RUNS): Promise<void> {
  await fc.assert(fc.asyncProperty(...(arbs as unknown as [fc.Arbitrary<unknown>]), body as unknown as (x: unknown) => Promise<void>), { numRuns })
}

test('map, flatMap, filter, keyBy, mapPartitions', async () => {
  await prop([nums, parts], async (xs, p) => {
    const ds = sc.parallelize(xs, p)
    assert.deepEqual(await ds.map((x) => x * 2 + 1).collect(), xs.map((x) => x * 2 + 1))
    assert.deepEqual(await ds.flatMap((x) => (x > 0 ? [x, -x] : [])).collect(), xs.flatMap((x) => (x > 0 ? [x, -x] : [])))
    assert.deepEqual(await ds.filter((x) => x % 3 === 0).collect(), xs.filter((x) => x % 3 === 0))
    assert.deepEqual(await ds.keyBy((x) => x % 4).collect(), xs.map((x) => [x % 4, x]))
    const sums = await ds.mapPartitions(async function* (it) { let s = 0; for await (const x of it) s += x; yield s }).collect()
    assert.equal(sums.length, p)
    assert.equal(sums.reduce((a, b) => a + b, 0), xs.reduce((a, b) => a + b, 0))
  })
})

test('mapValues, flatMapValues, keys, values', async () => {
  await prop([pairs, parts], async (ps, p) => {
    const ds = sc.parallelize(ps, p)
    assert.deepEqual(await ds.mapValues((v) => v * 10).collect(), ps.map(([k, v]) => [k, v * 10]))
    assert.deepEqual(await ds.flatMapValues((v) => [v, v + 1]).collect(), ps.flatMap(([k, v]) => [[k, v], [k, v + 1]]))
    assert.deepEqual(await ds.keys().collect(), ps.map((x) => x[0]))
    assert.deepEqual(await ds.values().collect(), ps.map((x) => x[1]))
  })
})

test('reduceByKey, foldByKey, aggregateByKey, combineByKey, groupByKey, countByKey', async () => {
  await prop([pairs, parts, parts], async (ps, p, r) => {
    const ds = sc.parallelize(ps, p)
    const ref = [...groupRef(ps).values()]
    sameBag(await ds.reduceByKey((a, b) => a + b, { partitions: r }).collect(), ref.map((e) => [e.key, e.values.reduce((a, b) => a + b)]))
    sameBag(await ds.foldByKey(100, (a, b) => a + b).collect(), await refFold(ds, ref))
    sameBag(
      await ds.aggregateByKey({ n: 0, s: 0 }, (acc, v) => ({ n: acc.n + 1, s: acc.s + v }), (a, b) => ({ n: a.n + b.n, s: a.s + b.s }), { partitions: r }).collect(),
      ref.map((e) => [e.key, { n: e.values.length, s: e.values.reduce((a, b) => a + b, 0) }]),
    )
    sameBag(
      await ds.combineByKey((v) => [v], (c, v) => [...c, v].sort((a, b) => a - b), (a, b) => [...a, ...b].sort((x, y) => x - y)).collect(),
      ref.map((e) => [e.key, [...e.values].sort((a, b) => a - b)]),
    )
    const grouped = await ds.groupByKey({ partitions: r }).mapValues((vs) => [...vs].sort((a, b) => a - b)).collect()
    sameBag(grouped, ref.map((e) => [e.key, [...e.values].sort((a, b) => a - b)]))
    const cbk = await ds.countByKey()
    assert.deepEqual(new Map([...cbk].map(([k, v]) => [JSON.stringify(k), v])), new Map(ref.map((e) => [JSON.stringify(e.key), e.values.length])))
  })
})

// foldByKey's zero is applied once per key per map partition (as in Spark), so the reference
// counts the partitions each key appears in.
async function refFold(ds: Dataset<Pair>, ref: { key: unknown; values: number[] }[]): Promise<unknown[]> {
  const perPartition = await ds.mapPartitions(async function* (it) {
    const seen = new Set<string>()
    for await (const [k] of it) seen.add(JSON.stringify(k))
    yield* seen
  }).collect()
  const zeros = new Map<string, number>()
  for (const k of perPartition) zeros.set(k, (zeros.get(k) ?? 0) + 1)
  return ref.map((e) => [e.key, e.values.reduce((a, b) => a + b, 0) + 100 * (zeros.get(JSON.stringify(e.key)) ?? 0)])
}

test('joins and cogroup, shuffled and co-partitioned', async () => {
  await prop([pairs, pairs, parts, parts, fc.boolean()], async (l, r, p1, p2, copart) => {
    let a: Dataset<Pair> = sc.parallelize(l, p1)
    let b: Dataset<Pair> = sc.parallelize(r, p2)
    if (copart) {
      a = a.partitionBy(3)
      b = b.partitionBy(3)
    }
    const gl = groupRef(l)
    const gr = groupRef(r)
    const allKeys = new Map([...gl, ...gr].map(([c, e]) => [c, e.key]))
    const inner: unknown[] = []
    const left: unknown[] = []
    const right: unknown[] = []
    const full: unknown[] = []
    const co: unknown[] = []
    for (const [c, k] of allKeys) {
      const vs = gl.get(c)?.values ?? []
      const ws = gr.get(c)?.values ?? []
      for (const v of vs) for (const w of ws) inner.push([k, [v, w]])
      for (const v of vs) if (ws.length === 0) left.push([k, [v, undefined]])
      for (const w of ws) if (vs.length === 0) right.push([k, [undefined, w]])
      co.push([k, [[...vs].sort(), [...ws].sort()]])
    }
    full.push(...inner, ...left, ...right)
    sameBag(await a.join(b).collect(), inner)
    sameBag(await a.leftOuterJoin(b).collect(), [...inner, ...left])
    sameBag(await a.rightOuterJoin(b).collect(), [...inner, ...right])
    sameBag(await a.fullOuterJoin(b).collect(), full)
    sameBag(await a.cogroup(b).mapValues((g) => [[...g[0]].sort(), [...g[1]].sort()]).collect(), co)
    if (copart) assert.equal(a.join(b).partitions, 3)
  })
})

test('co-partitioned join reads both inputs in place: no shuffle stage for them', async () => {
  const a = sc.parallelize([[1, 1], [2, 2]] as Pair[], 2).partitionBy(4)
  const b = sc.parallelize([[1, 10], [3, 30]] as Pair[], 3).partitionBy(4)
  await a.count()
  await b.count()
  const before = sc.jobs().length
  assert.deepEqual(await a.join(b).collect(), [[1, [1, 10]]])
  const job = sc.jobs()[before]
  // Two partitionBy map stages (outputs reused from the count jobs, so skipped) + the result stage; no cogroup shuffle.
  assert.ok(job !== undefined)
  assert.equal(job.stages.filter((s) => s.kind === 'map').length, 2)
  assert.ok(job.stages.filter((s) => s.kind === 'map').every((s) => s.status === 'skipped'))
  assert.ok(job.stages.every((s) => !s.name.startsWith('cogroup')))
})

test('union, distinct, countByValue, zipWithIndex, coalesce, repartition', async () => {
  await prop([nums, nums, parts, parts], async (xs, ys, p, q) => {
    const a = sc.parallelize(xs, p)
    const b = sc.parallelize(ys, q)
    assert.deepEqual(await a.union(b).collect(), [...xs, ...ys])
    sameBag(await a.distinct({ partitions: q }).collect(), [...new Set(xs)])
    const cbv = await a.countByValue()
    const refCount = new Map<number, number>()
    for (const x of xs) refCount.set(x, (refCount.get(x) ?? 0) + 1)
    assert.deepEqual(new Map([...cbv].sort()), new Map([...refCount].sort()))
    assert.deepEqual(await a.zipWithIndex().collect(), xs.map((x, i) => [x, i]))
    const c = a.coalesce(q)
    assert.equal(c.partitions, Math.min(p, q))
    assert.deepEqual(await c.collect(), xs)
    const r = a.repartition(q)
    assert.equal(r.partitions, q)
    sameBag(await r.collect(), xs)
  })
})

test('sortBy and sortByKey: total order across partitions, both directions', async () => {
  await prop([pairs, parts, parts, fc.boolean()], async (ps, p, r, asc) => {
    const ds = sc.parallelize(ps, p)
    const cmp = (x: number | string, y: number | string): number => {
      const rank = (v: unknown): number => (typeof v === 'number' ? 0 : 1)
      if (rank(x) !== rank(y)) return rank(x) - rank(y)
      return x < y ? -1 : x > y ? 1 : 0
    }
    const sorted = await ds.sortByKey(asc, { partitions: r }).collect()
    assert.deepEqual(sorted.map((x) => x[0]), ps.map((x) => x[0]).sort((x, y) => (asc ? cmp(x, y) : cmp(y, x))))
    sameBag(sorted, ps)
    const byValue = await ds.sortBy((x) => x[1], false).collect()
    assert.deepEqual(byValue.map((x) => x[1]), ps.map((x) => x[1]).sort((x, y) => y - x))
  })
})

test('sample, cartesian', async () => {
  await prop([nums, parts], async (xs, p) => {
    const ds = sc.parallelize(xs, p)
    assert.deepEqual(await ds.sample(false, 1, 7).collect(), xs)
    assert.deepEqual(await ds.sample(false, 0, 7).collect(), [])
    const s1 = await ds.sample(false, 0.5, 11).collect()
    assert.deepEqual(await ds.sample(false, 0.5, 11).collect(), s1)
    const bag = canon(xs)
    for (const x of canon(s1)) { const i = bag.indexOf(x); assert.ok(i >= 0); bag.splice(i, 1) }
    const withRep = await ds.sample(true, 2, 3).collect()
    for (const x of withRep) assert.ok(xs.includes(x))
    const small = xs.slice(0, 6)
    const c = await sc.parallelize(small, p).cartesian(sc.parallelize(['x', 'y'], 2)).collect()
    sameBag(c, small.flatMap((x) => [[x, 'x'], [x, 'y']]))
  }, 6)
})

test('cartesian is guarded by cartesianMaxPairs', async () => {
  const guarded = new Context({ workers: 1, cartesianMaxPairs: 10 })
  try {
    await assert.rejects(guarded.range(5).cartesian(guarded.range(5)).count(), { code: 'ERR_JOB_CARTESIAN_TOO_LARGE' })
  } finally {
    await guarded.stop()
  }
})

test('actions: count, take, first, reduce, fold, aggregate, foreach', async () => {
  await prop([nums, parts, fc.integer({ min: 0, max: 50 })], async (xs, p, n) => {
    const ds = sc.parallelize(xs, p)
    assert.equal(await ds.count(), xs.length)
    assert.deepEqual(await ds.take(n), xs.slice(0, n))
    if (xs.length > 0) {
      assert.equal(await ds.first(), xs[0])
      assert.equal(await ds.reduce((a, b) => a + b), xs.reduce((a, b) => a + b))
    } else {
      await assert.rejects(ds.first(), { code: 'ERR_JOB_EMPTY_DATASET' })
      await assert.rejects(ds.reduce((a, b) => a + b), { code: 'ERR_JOB_EMPTY_DATASET' })
    }
    assert.equal(await ds.fold(0, (a, b) => a + b), xs.reduce((a, b) => a + b, 0))
    assert.deepEqual(
      await ds.aggregate({ n: 0, max: -Infinity }, (acc, x) => ({ n: acc.n + 1, max: Math.max(acc.max, x) }), (a, b) => ({ n: a.n + b.n, max: Math.max(a.max, b.max) })),
      { n: xs.length, max: Math.max(-Infinity, ...xs) },
    )
  })
  const file = join(dir, 'foreach.txt')
  await sc.parallelize([1, 2, 3, 4], 3).foreach(appendTo, { env: file })
  assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map(Number).sort(), [1, 2, 3, 4])
})

test('range and parallelize partitioning', async () => {
  await prop([fc.integer({ min: -20, max: 20 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 7 }), parts], async (start, len, step, p) => {
    const ref: number[] = []
    for (let x = start; x < start + len; x += step) ref.push(x)
    const ds = sc.range(start, start + len, step, p)
    assert.equal(ds.partitions, p)
    assert.deepEqual(await ds.collect(), ref)
  })
})

test('saveAsTextFile and saveAsJsonLines write part files then _SUCCESS, and refuse an existing directory', async () => {
  await prop([fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 30 }), parts], async (xs, p) => {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`)
    await sc.parallelize(xs, p).saveAsJsonLines(out)
    const files = readdirSync(out).sort()
    assert.deepEqual(files, [...Array.from({ length: p }, (_, i) => `part-${String(i).padStart(5, '0')}`), '_SUCCESS'].sort())
    const lines = files.filter((f) => f.startsWith('part-')).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''))
    assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), xs)
    await assert.rejects(sc.parallelize(xs, p).saveAsTextFile(out), { code: 'ERR_JOB_OUTPUT_EXISTS' })
  }, 6)
})

test('custom partitioner places keys where the function says', async () => {
  const ds = sc.parallelize([[1, 1], [2, 2], [3, 3], [4, 4]] as Pair[], 2).partitionBy({ partitions: 2, fn: (k) => (Number(k) % 2 === 0 ? 0 : 1) })
  const perPartition = await ds.mapPartitions(async function* (it, _env, p) { for await (const [k] of it) yield [p, k] as const }).collect()
  for (const [p, k] of perPartition) assert.equal(p, Number(k) % 2 === 0 ? 0 : 1)
})

test('jsonLines and csv sources with header and types', async () => {
  const { writeFileSync } = await import('node:fs')
  const j = join(dir, 'in.jsonl')
  writeFileSync(j, '{"a":1}\n\n{"a":2}\n')
  assert.deepEqual(await sc.jsonLines<{ a: number }>(j).map((r) => r.a).collect(), [1, 2])
  const c = join(dir, 'in.csv')
  writeFileSync(c, 'name,age,ok\n"Smith, J",42,true\nLee,7,false\n')
  assert.deepEqual(await sc.csv(c, { types: { age: 'number', ok: 'boolean' } }).collect(), [
    { name: 'Smith, J', age: 42, ok: true },
    { name: 'Lee', age: 7, ok: false },
  ])
  assert.deepEqual(await sc.csv(c, { header: false, minPartitions: 3 }).count(), 3)
})
