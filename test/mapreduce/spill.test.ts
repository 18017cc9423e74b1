// External aggregation and sorting under tiny memory budgets: results equal the in-memory
// reference however many runs were spilled; a job with a small memoryPerWorkerMb spills and
// still gets the right answer.
import { test } from 'node:test'
import { workerArgs } from '../../src/mapreduce/local-executor.js'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { compileAggregator, ExternalAggregator } from '../../src/mapreduce/aggregator.js'
import { ExternalSorter } from '../../src/mapreduce/external-sort.js'
import { Context } from '../../src/mapreduce/index.js'
import { builtin } from '../../src/mapreduce/closure.js'

const key = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.string({ maxLength: 4 }), fc.tuple(fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 2 })))

test('spilling hash aggregation equals the in-memory reference for any budget', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-spill-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const sum = await compileAggregator({ kind: 'reduce', fn: builtin('(a, b) => a + b') })
  const group = await compileAggregator({ kind: 'group' })
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(key, fc.integer({ min: -5, max: 5 })), { maxLength: 400 }), fc.integer({ min: 100, max: 5000 }), async (pairs, budget) => {
      const ref = new Map<string, { k: unknown; sum: number; all: number[] }>()
      for (const [k, v] of pairs) {
        const c = JSON.stringify(k)
        const e = ref.get(c) ?? { k, sum: 0, all: [] }
        e.sum += v
        e.all.push(v)
        ref.set(c, e)
      }
      const a = new ExternalAggregator(sum, budget, dir)
      const g = new ExternalAggregator(group, budget, dir)
      for (const [k, v] of pairs) { a.insertValue(k, v); g.insertValue(k, v) }
      const got = new Map<string, unknown>()
      for (const b of a.results()) for (const [k, v] of b) { assert.ok(!got.has(JSON.stringify(k)), 'key emitted twice'); got.set(JSON.stringify(k), v) }
      assert.deepEqual(got, new Map([...ref].map(([c, e]) => [c, e.sum])))
      const grouped = new Map<string, unknown>()
      for (const b of g.results()) for (const [k, v] of b) grouped.set(JSON.stringify(k), [...(v as number[])].sort())
      assert.deepEqual(grouped, new Map([...ref].map(([c, e]) => [c, [...e.all].sort()])))
      if (pairs.length > 200 && budget < 500) assert.ok(a.spillBytes > 0, 'a tiny budget must spill')
    }),
    { numRuns: 150 },
  )
  assert.deepEqual(readdirSync(dir), [], 'run files are deleted after merging')
})

test('external merge sort is a stable sort for any budget, both directions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-sort-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.nat()), { maxLength: 500 }), fc.integer({ min: 200, max: 4000 }), fc.boolean(), async (recs, budget, asc) => {
      const s = new ExternalSorter(asc, budget, dir)
      recs.forEach(([k], i) => s.insert(k, i))
      const got: [unknown, unknown][] = []
      for (const b of s.results()) got.push(...b)
      const ref = recs.map(([k], i) => [k, i] as [number, number]).sort((x, y) => (asc ? x[0] - y[0] : y[0] - x[0]) || x[1] - y[1])
      assert.deepEqual(got, ref)
    }),
    { numRuns: 150 },
  )
})

test('a job with a small memory budget spills during reduceByKey, groupByKey and sortByKey and stays correct', async (t) => {
  const sc = new Context({ workers: 2, memoryPerWorkerMb: 1, spillFraction: 0.05 })
  t.after(() => sc.stop())
  const n = 30_000
  const ds = sc.range(n, undefined, 1, 4).map((i) => [`k${i % 9000}`, i] as const)
  const sums = new Map(await ds.reduceByKey((a, b) => a + b, { partitions: 3 }).collect())
  assert.equal(sums.size, 9000)
  for (let k = 0; k < 9000; k += 997) {
    let ref = 0
    for (let i = k; i < n; i += 9000) ref += i
    assert.equal(sums.get(`k${k}`), ref)
  }
  const groups = await ds.groupByKey().mapValues((vs) => vs.length).collect()
  assert.equal(groups.reduce((a, [, c]) => a + c, 0), n)
  const sorted = await sc.range(n, undefined, 1, 3).map((i, env) => [(i * 7919) % env.n, i] as const, { env: { n } }).sortByKey(false).keys().collect()
  assert.deepEqual(sorted, Array.from({ length: n }, (_, i) => n - 1 - i))
  const spilled = sc.jobs().flatMap((j) => j.stages).reduce((a, s) => a + s.spillBytes, 0)
  assert.ok(spilled > 0, 'the budget was small enough to force spills')
})

test('local workers with little memory get a small young generation; the default 512 MiB and a caller\'s own flag are left alone', () => {
  assert.deepEqual(workerArgs(128, undefined), ['--max-semi-space-size=4'])
  assert.deepEqual(workerArgs(2, ['--trace-gc']), ['--trace-gc', '--max-semi-space-size=1'])
  assert.deepEqual(workerArgs(512, undefined), [])
  assert.deepEqual(workerArgs(128, ['--max-semi-space-size=32']), ['--max-semi-space-size=32'])
})
