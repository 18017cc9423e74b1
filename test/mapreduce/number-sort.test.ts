// The radix sort of number-keyed pairs (number-sort.ts) must give exactly what the external
// sorter's comparator sort gives: compareKeys order, ties in arrival order, both directions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compareKeys } from '../../src/mapreduce/keys.js'
import { sortPairsByNumber } from '../../src/mapreduce/number-sort.js'

const reference = (pairs: [number, number][], ascending: boolean): [number, number][] =>
  [...pairs].sort((x, y) => (ascending ? compareKeys(x[0], y[0]) : compareKeys(y[0], x[0])))

const key = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53, 0.1, -0.1),
)

test('sorts like the comparator sort: order, ties by arrival, -0 equal to 0, both directions', () => {
  fc.assert(
    fc.property(fc.array(key, { maxLength: 300 }), fc.boolean(), (keys, ascending) => {
      const pairs = keys.map((k, i) => [k, i] as [number, number])
      const got = sortPairsByNumber(pairs, ascending)
      // Compare the value (arrival index) sequence: keys alone cannot tell -0 from 0 or tie order.
      assert.deepEqual(got?.map((p) => p[1]), reference(pairs, ascending).map((p) => p[1]))
    }),
    { numRuns: 500 },
  )
})

test('large inputs with many ties (all digit passes, skipped passes)', () => {
  const pairs: [number, number][] = []
  for (let i = 0; i < 70_000; i++) pairs.push([(i * 7919) % 1000 - 500 + (i % 3 === 0 ? 0.5 : 0), i])
  for (const asc of [true, false]) assert.deepEqual(sortPairsByNumber(pairs, asc)?.map((p) => p[1]), reference(pairs, asc).map((p) => p[1]))
})

test('a NaN key returns null (the caller keeps the comparator sort)', () => {
  assert.equal(sortPairsByNumber([[1, 0], [Number.NaN, 1], [0, 2]], true), null)
})
