// The fused byte-level word count (src/mapreduce/fused/) must give exactly what the generic path
// gives: the same [word, count] pairs in the same order, for adversarial input (unicode, invalid
// UTF-8, empty lines, \r\n, repeated separators, long words, colliding keys) and every split.
// Lambdas of other shapes must not be fused.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { toFnSpec } from '../../src/mapreduce/closure.js'
import { Context } from '../../src/mapreduce/index.js'
import { matchWordCount, runWordCount, StringSink } from '../../src/mapreduce/fused/word-count.js'
import { ByteWordTable } from '../../src/mapreduce/fused/word-table.js'
import { isNonEmptyFilter, isPairConcat, isSum, pairWithConstant, sliceKeyValue, splitSeparator } from '../../src/mapreduce/fused/shapes.js'
import { planSplits, readSplitLines } from '../../src/mapreduce/text-input.js'
import type { AggregatorSpec, PlanNode, TextSplit } from '../../src/mapreduce/task-spec.js'

let dir: string
before(() => { dir = mkdtempSync(join(tmpdir(), 'sy-fused-')) })
after(() => rmSync(dir, { recursive: true, force: true }))

// Pieces that stress the tokeniser: separators, line endings, multi-byte and invalid UTF-8
// (0xff, a truncated 2-byte and 3-byte sequence, an encoded surrogate, an overlong '/').
const PIECES: readonly (string | number[])[] = [
  'a', 'b', 'ab', 'ba', 'é', '€', '😀', ' ', ' ', '  ', ',', '\t', '\n', '\n', '\r', '\r\n', '\n\n',
  [0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xef, 0xbb, 0xbf], 'x'.repeat(40),
]
const bytesOf = (parts: readonly (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))
const input = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 })
const SEPS = [' ', ',', '\t', 'a'] as const

/** The generic path's meaning: lines as readSplitLines gives them, split, filtered, counted in first-seen order. */
async function reference(splits: readonly TextSplit[], sep: string, skipEmpty: boolean, value: number): Promise<[string, number][]> {
  const m = new Map<string, number>()
  for (const s of splits) {
    for await (const lines of readSplitLines(s, () => {})) {
      for (const l of lines) for (const w of l.split(sep)) if (!skipEmpty || w !== '') m.set(w, (m.get(w) ?? 0) + value)
    }
  }
  return [...m]
}

function fused(splits: readonly TextSplit[], sep: string, skipEmpty: boolean, value: number, budgetBytes = 1 << 30): { pairs: [string, number][]; lines: number } {
  const out: [string, number][] = []
  const counters = { recordsIn: 0, recordsOut: 0, bytesRead: 0 }
  runWordCount({ splits, sep: sep.charCodeAt(0), skipEmpty, value }, budgetBytes, counters, new StringSink((k, v) => out.push([k, v]), value))
  return { pairs: out, lines: counters.recordsIn }
}

let seq = 0
test('fused word count equals the generic path on adversarial bytes, for every separator and split size', async () => {
  await fc.assert(
    fc.asyncProperty(input, fc.constantFrom(...SEPS), fc.boolean(), fc.integer({ min: 1, max: 50 }), fc.integer({ min: -3, max: 3 }), async (parts, sep, skipEmpty, splitBytes, value) => {
      const file = join(dir, `p${seq++}.txt`)
      writeFileSync(file, bytesOf(parts))
      for (const splits of [planSplits([file], 1 << 20), planSplits([file], splitBytes)]) {
        for (const split of splits) {
          const want = await reference(split, sep, skipEmpty, value)
          assert.deepEqual(fused(split, sep, skipEmpty, value).pairs, want)
        }
      }
    }),
    { numRuns: 400 },
  )
})

test('keys with colliding hashes and table growth: counts stay exact; early drains only repeat keys', async () => {
  // 20,000 distinct words (the table rehashes several times) with zipf-like repetition.
  const words: string[] = []
  for (let i = 0; i < 20_000; i++) words.push(`w${(i * 7919) % 20_011}${i % 3 === 0 ? 'é' : ''}`)
  const lines: string[] = []
  for (let i = 0; i < 4000; i++) {
    const line: string[] = []
    for (let j = 0; j < 12; j++) line.push(words[(i * 13 + j * j * 101) % (j < 6 ? 50 : words.length)] as string)
    lines.push(line.join(' '))
  }
  const file = join(dir, 'growth.txt')
  writeFileSync(file, `${lines.join('\r\n')}\r\n`)
  const splits = planSplits([file], 1 << 30)[0] as TextSplit[]
  const want = await reference(splits, ' ', true, 1)
  const got = fused(splits, ' ', true, 1)
  assert.deepEqual(got.pairs, want)
  assert.equal(got.lines, lines.length)
  // A tiny budget drains the table after every chunk: keys repeat, sums are unchanged.
  const small = fused(splits, ' ', true, 1, 1)
  const sums = new Map<string, number>()
  for (const [k, v] of small.pairs) sums.set(k, (sums.get(k) ?? 0) + v)
  assert.deepEqual([...sums].sort(), [...want].sort())
  // Pairs of FNV-1a collisions (same 32-bit hash, hence same slot): the table must keep them apart.
  const t = new ByteWordTable()
  const a = Buffer.from('costarring liquid declinate macallums altarage zinke')
  t.addLines(a, 32, true)
  t.addLines(a, 32, true)
  const got2: [string, number][] = []
  t.drain((k, n) => got2.push([k, n]))
  assert.deepEqual(got2, [['costarring', 2], ['liquid', 2], ['declinate', 2], ['macallums', 2], ['altarage', 2], ['zinke', 2]])
  // Pairs with the same 32-bit table hash (found by search): 7-byte tokens, kept apart by the
  // inline words, and 24-byte tokens with the same first 16 bytes, kept apart by the arena bytes.
  const t3 = new ByteWordTable()
  t3.addLines(Buffer.from('iualanh lztnhmr ponmlkjihgfedcbackgytctb ponmlkjihgfedcbawxmyznuo ponmlkjihgfedcbackgytctb iualanh'), 32, true)
  const got3: [string, number][] = []
  t3.drain((k, n) => got3.push([k, n]))
  assert.deepEqual(got3, [['iualanh', 2], ['lztnhmr', 1], ['ponmlkjihgfedcbackgytctb', 2], ['ponmlkjihgfedcbawxmyznuo', 1]])
})

test('tokens around the 16 inline bytes: equal prefixes, NUL bytes and chunk ends count apart', () => {
  // Words over {a, b, NUL} of 0-40 bytes share long prefixes; each chunk is a view that ends right
  // after its text, so tokens near the end take the path that reads no byte past the chunk.
  const word = fc.array(fc.constantFrom('a', 'b', '\0'), { maxLength: 40 }).map((cs) => cs.join(''))
  fc.assert(
    fc.property(fc.array(fc.array(word, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 20 }), (lines) => {
      const t = new ByteWordTable()
      const want = new Map<string, number>()
      for (const line of lines) {
        t.addLines(Buffer.from(line.join(' '), 'latin1'), 32, false)
        for (const w of line) want.set(w, (want.get(w) ?? 0) + 1)
      }
      const got: [string, number][] = []
      t.drain((k, n) => got.push([k, n]))
      assert.deepEqual(got, [...want])
    }),
    { numRuns: 300 },
  )
})

test('a line longer than the read buffer and a file without a final newline', async () => {
  const long = Array.from({ length: 200_000 }, (_, i) => `t${i % 997}`).join(' ')
  const file = join(dir, 'long.txt')
  writeFileSync(file, `${long}\nshort line\n\nlast`)
  const splits = planSplits([file], 1 << 30)[0] as TextSplit[]
  assert.deepEqual(fused(splits, ' ', false, 1).pairs, await reference(splits, ' ', false, 1))
})

const fn = (f: unknown): ReturnType<typeof toFnSpec> => toFnSpec(f)

test('shape recognisers accept the documented shapes and nothing else', () => {
  assert.equal(splitSeparator(fn((l: string) => l.split(' '))), 32)
  assert.equal(splitSeparator(fn(function (l: string) { return l.split(',') })), 44)
  for (const f of [(l: string) => l.split('  '), (l: string) => l.split('\n'), (l: string) => l.split(/ /), (l: string) => l.split(' ', 2), (l: string, e: string) => l.split(e), (l: string) => l.trim().split(' '), (l: string) => l.split('é')]) {
    assert.equal(splitSeparator(fn(f)), null, String(f))
  }
  for (const f of [(w: string) => w !== '', (w: string) => w != '', (w: string) => '' !== w, (w: string) => w.length > 0, (w: string) => w.length !== 0, (w: string) => w.length >= 1, Boolean]) {
    assert.ok(isNonEmptyFilter(fn(f)), String(f))
  }
  for (const f of [(w: string) => w !== ' ', (w: string) => w.length > 1, (w: string) => w !== '' && w !== 'a', (w: string) => w, (w: string, e: string) => w !== e]) {
    assert.ok(!isNonEmptyFilter(fn(f)), String(f))
  }
  assert.equal(pairWithConstant(fn((w: string) => [w, 1])), 1)
  assert.equal(pairWithConstant(fn((w: string) => [w, 7])), 7)
  for (const f of [(w: string) => [w, 1.5], (w: string) => [1, w], (w: string) => [w, 1, 2], (w: string) => [w.toLowerCase(), 1], (w: string) => [w, 2 ** 40]]) {
    assert.equal(pairWithConstant(fn(f)), null, String(f))
  }
  assert.ok(isSum(fn((a: number, b: number) => a + b)))
  assert.ok(isSum(fn((a: number, b: number) => b + a)))
  for (const f of [(a: number, b: number) => a - b, (a: number) => a + a, (a: number, b: number) => a + b + 1, (a: number, b: number) => Math.max(a, b)]) assert.ok(!isSum(fn(f)), String(f))
  assert.equal(sliceKeyValue(fn((line: string) => [line.slice(0, 10), line.slice(10)])), 10)
  for (const f of [(l: string) => [l.slice(0, 10), l.slice(11)], (l: string) => [l.slice(1, 10), l.slice(10)], (l: string) => [l.slice(0, 10), l]]) assert.equal(sliceKeyValue(fn(f)), null, String(f))
  assert.ok(isPairConcat(fn(([k, v]: [string, string]) => k + v)))
  assert.ok(isPairConcat(fn((r: [string, string]) => r[0] + r[1])))
  for (const f of [([k, v]: [string, string]) => v + k, ([k, v]: [string, string]) => `${k}${v}`, (r: [string, string]) => r[1] + r[0]]) assert.ok(!isPairConcat(fn(f)), String(f))
})

/** A map-side plan node chain as the PlanBuilder emits it. */
function plan(split: (l: string) => unknown, filter: ((w: string) => unknown) | null, pair: (w: string) => unknown, gzip = false): PlanNode {
  const text: PlanNode = { id: 1, partitions: 1, op: 'text', splits: [[{ path: '/x', start: 0, end: -1, gzip }]], format: 'lines' }
  const flat: PlanNode = { id: 2, partitions: 1, op: 'flatMap', input: { kind: 'narrow', node: text }, fn: fn(split) }
  const filtered: PlanNode = filter === null ? flat : { id: 3, partitions: 1, op: 'filter', input: { kind: 'narrow', node: flat }, fn: fn(filter) }
  return { id: 4, partitions: 1, op: 'map', input: { kind: 'narrow', node: filtered }, fn: fn(pair) }
}
const sum: AggregatorSpec = { kind: 'reduce', fn: fn((a: number, b: number) => a + b) }

test('only the exact chain is fused; anything else runs the generic path', () => {
  const ok = plan((l) => l.split(' '), (w) => w !== '', (w) => [w, 1])
  assert.notEqual(matchWordCount(ok, 0, sum), null)
  assert.notEqual(matchWordCount(plan((l) => l.split(' '), null, (w) => [w, 1]), 0, sum), null)
  assert.equal(matchWordCount(ok, 0, undefined), null)
  assert.equal(matchWordCount(ok, 0, { kind: 'reduce', fn: fn((a: number, b: number) => Math.max(a, b)) }), null)
  assert.equal(matchWordCount(ok, 0, { kind: 'group' }), null)
  assert.equal(matchWordCount(plan((l) => l.toLowerCase().split(' '), (w) => w !== '', (w) => [w, 1]), 0, sum), null)
  assert.equal(matchWordCount(plan((l) => l.split(' '), (w) => w.length > 2, (w) => [w, 1]), 0, sum), null)
  assert.equal(matchWordCount(plan((l) => l.split(' '), (w) => w !== '', (w) => [w, w.length]), 0, sum), null)
  assert.equal(matchWordCount(plan((l) => l.split(' '), (w) => w !== '', (w) => [w, 1], true), 0, sum), null)
})

function readOutput(out: string): string[] {
  return readdirSync(out).filter((n) => n.startsWith('part-')).sort().flatMap((n) => readFileSync(join(out, n), 'utf8').split('\n').filter((l) => l !== ''))
}

test('end to end: the fused job writes byte-identical output to an unfused equivalent, on both workers', async (t) => {
  const sc = new Context({ workers: 2, splitBytes: 4096 })
  t.after(() => sc.stop())
  const lines: string[] = []
  for (let i = 0; i < 3000; i++) lines.push(`${i % 7 === 0 ? '' : `w${(i * 31) % 211} é${i % 5}  x`}${i % 11 === 0 ? '\r' : ''}`)
  const file = join(dir, 'e2e.txt')
  writeFileSync(file, Buffer.concat([Buffer.from(lines.join('\n')), Buffer.from([0x20, 0xff, 0x0a])]))
  const fusedOut = join(dir, 'fused-out')
  const genericOut = join(dir, 'generic-out')
  await sc.textFile(file).flatMap((l) => l.split(' ')).filter((w) => w !== '').map((w) => [w, 1] as const).reduceByKey((a, b) => a + b, { partitions: 3 }).saveAsTextFile(fusedOut)
  // `w !== '' && true` means the same but is not a recognised shape: the generic path runs.
  await sc.textFile(file).flatMap((l) => l.split(' ')).filter((w) => w !== '' && true).map((w) => [w, 1] as const).reduceByKey((a, b) => a + b, { partitions: 3 }).saveAsTextFile(genericOut)
  const a = readOutput(fusedOut)
  assert.deepEqual(a, readOutput(genericOut))
  assert.ok(a.length > 200)
  const jobs = sc.jobs()
  const mapStages = jobs.flatMap((j) => j.stages).filter((s) => s.name.startsWith('reduceByKey (map side)'))
  assert.equal(mapStages.length, 2)
  // Same records in and out on both paths (counters are kept by the fused path too).
  assert.equal(mapStages[0]?.recordsIn, mapStages[1]?.recordsIn)
  assert.equal(mapStages[0]?.recordsOut, mapStages[1]?.recordsOut)
})
