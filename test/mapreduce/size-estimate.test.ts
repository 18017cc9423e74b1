// estimateHeapBytes against what records really cost: each shape is allocated in a fresh node
// process (fixtures/size-shapes.ts) and the estimate must fall within a factor band of the measured
// bytes; plus cycles and huge records must cost bounded work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { estimateHeapBytes } from '../../src/mapreduce/size-estimate.js'
import { measureShape, type ShapeName } from './fixtures/size-shapes.js'

const LOW = 0.6
const HIGH = 1.6

/**
 * Shapes held only on the V8 heap are compared with the heap+external delta. Shapes with an
 * off-heap backing store are compared with the RSS delta, since their malloc'd BackingStore and
 * chunk overhead (about 200 B each) show in no memoryUsage() counter but do fill the machine.
 */
const CASES: { shape: ShapeName; records: number; against: 'heapExternal' | 'rss' }[] = [
  { shape: 'Float64Array(11)', records: 100_000, against: 'rss' },
  { shape: 'Buffer.alloc(1024)', records: 50_000, against: 'rss' },
  { shape: 'number[11] doubles', records: 50_000, against: 'heapExternal' },
  { shape: 'string 8 chars', records: 100_000, against: 'heapExternal' },
  { shape: 'string 200 chars', records: 50_000, against: 'heapExternal' },
  { shape: '[string, double]', records: 50_000, against: 'heapExternal' },
  { shape: '{ id, name, score }', records: 50_000, against: 'heapExternal' },
  { shape: 'Map 10 entries', records: 50_000, against: 'heapExternal' },
]

for (const c of CASES) {
  test(`estimate of ${c.shape} is within ${LOW}x-${HIGH}x of its measured ${c.against} bytes`, (t) => {
    const m = measureShape(c.shape, c.records)
    const measured = m[c.against]
    const ratio = m.estimate / measured
    const detail = `estimate ${m.estimate.toFixed(0)} B/record, heap+external ${m.heapExternal.toFixed(0)}, rss ${m.rss.toFixed(0)}`
    t.diagnostic(`ratio ${ratio.toFixed(2)}: ${detail}`)
    assert.ok(ratio >= LOW && ratio <= HIGH, `ratio ${ratio.toFixed(2)} out of band: ${detail}`)
    // Never below what V8 itself accounts for: that is memory the records surely hold.
    assert.ok(m.estimate >= 0.9 * m.heapExternal, `estimate below heap+external: ${detail}`)
  })
}

test('cyclic records are counted once per object and do not hang', () => {
  const a: Record<string, unknown> = { name: 'a' }
  const b: Record<string, unknown> = { name: 'b', back: a }
  a.self = a
  a.list = [a, b, a]
  const m = new Map<unknown, unknown>()
  m.set(m, m)
  m.set('a', a)
  const bytes = estimateHeapBytes([a, b, m, [a, m]])
  assert.ok(Number.isFinite(bytes) && bytes > 0)
  // Each of the few objects once: a handful of headers and slots, nowhere near a runaway walk.
  assert.ok(bytes < 10_000, `${bytes}`)
})

test('a deep record is walked with bounded work and no stack overflow, the rest extrapolated', () => {
  let reads = 0
  let chain: object = { end: true }
  for (let i = 0; i < 100_000; i++) {
    const next = chain
    chain = Object.defineProperty({}, 'next', { enumerable: true, get: () => (reads++, next) })
  }
  const bytes = estimateHeapBytes([chain])
  assert.ok(Number.isFinite(bytes) && bytes > 4096 * 24, `${bytes}`)
  assert.ok(reads < 20_000, `walked ${reads} of 100000 nested objects`)
})

test('a wide record is sampled and scaled, not walked element by element', () => {
  let reads = 0
  const n = 200_000
  const wide = Array.from({ length: n }, (_, i) =>
    Object.defineProperty({}, 'v', { enumerable: true, get: () => (reads++, `value-${i}`) }))
  const bytes = estimateHeapBytes([{ wide }])
  assert.ok(reads < 1_000, `read ${reads} of ${n} elements`)
  // Slot + object with one field (24 + 8) + a 16-byte string, per element, give or take.
  const expected = n * (8 + 32 + 32)
  assert.ok(bytes > 0.6 * expected && bytes < 1.6 * expected, `${bytes} vs about ${expected}`)
})

test('an empty partition and a partition of numbers (Smi or double array) add no bytes', () => {
  assert.equal(estimateHeapBytes([]), 0)
  assert.equal(estimateHeapBytes([1, 2.5, 3]), 0)
})
