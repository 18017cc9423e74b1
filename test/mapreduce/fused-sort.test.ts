// The fused byte-level sort (src/mapreduce/fused/sort.ts) must write exactly what the generic
// path writes: for random lines (ASCII, unicode, \r\n, empty and short lines, duplicate keys),
// both directions, with map tasks that fall back (non-ASCII split) next to fused ones, and with
// a reducer over its memory budget.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { Context } from '../../src/mapreduce/index.js'
import { compareKeys } from '../../src/mapreduce/keys.js'
import { matchSortMap, matchSortReduce } from '../../src/mapreduce/fused/sort.js'
import { buildNode, PlanBuilder, prepareLineage, type LNode } from '../../src/mapreduce/lineage.js'
import type { PlanNode, TaskOutput } from '../../src/mapreduce/task-spec.js'

let sc: Context
let dir: string
before(() => {
  sc = new Context({ workers: 2, splitBytes: 512 })
  dir = mkdtempSync(join(tmpdir(), 'sy-fsort-'))
})
after(async () => {
  await sc.stop()
  rmSync(dir, { recursive: true, force: true })
})

const read = (out: string): string => readdirSync(out).filter((n) => n.startsWith('part-')).sort().map((n) => readFileSync(join(out, n), 'utf8')).join('')

/** The program's meaning, computed in-process: a stable sort of [slice(0, 3), slice(3)] pairs by key. */
function reference(text: string, ascending: boolean): string {
  if (text === '') return ''
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  const pairs = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).map((l) => [l.slice(0, 3), l.slice(3)] as const)
  pairs.sort((a, b) => (ascending ? compareKeys(a[0], b[0]) : compareKeys(b[0], a[0])))
  return pairs.map(([k, v]) => `${k}${v}\n`).join('')
}

const asciiLine = fc.stringMatching(/^[ -~]{0,12}$/)
// BMP characters only: slicing an astral character's surrogate pair in two makes lone
// surrogates, which the generic shuffle (msgpack, UTF-8) turns into U+FFFD, unlike the reference.
const anyLine = fc.oneof(asciiLine, fc.stringMatching(/^[a-cé€ ]{0,6}$/))

let seq = 0
async function check(lines: string[], crlf: boolean, ascending: boolean, partitions: number, ctx: Context = sc): Promise<void> {
  const text = lines.join(crlf ? '\r\n' : '\n') + (lines.length > 0 ? '\n' : '')
  const file = join(dir, `in-${seq}.txt`)
  writeFileSync(file, text)
  const out = join(dir, `out-${seq++}`)
  const recs = ctx.textFile(file)
  await recs.map((line) => [line.slice(0, 3), line.slice(3)] as const).sortByKey(ascending, { partitions }).map(([k, v]) => k + v).saveAsTextFile(out)
  // The reference reads the file back: a lone surrogate in `lines` was written as U+FFFD.
  assert.equal(read(out), reference(readFileSync(file, 'utf8'), ascending))
}

test('fused sort equals the in-process reference on ASCII lines (duplicates, short, empty, \\r\\n), both directions', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(asciiLine, { maxLength: 300 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 4 }), (l, crlf, asc, parts) => check(l, crlf, asc, parts)),
    { numRuns: 15 },
  )
})

test('non-ASCII lines: the affected map tasks fall back, fused ones are read alongside, output still equal', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(anyLine, { minLength: 1, maxLength: 300 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 4 }), (l, crlf, asc, parts) => check(l, crlf, asc, parts)),
    { numRuns: 15 },
  )
})

test('a reducer over its memory budget takes the generic (spilling) path with the same output', async (t) => {
  const small = new Context({ workers: 1, memoryPerWorkerMb: 1, spillFraction: 0.05 })
  t.after(() => small.stop())
  const lines: string[] = []
  for (let i = 0; i < 20_000; i++) lines.push(`${String.fromCharCode(33 + ((i * 7919) % 90))}${String.fromCharCode(33 + (i % 90))}k payload ${i}`)
  const text = `${lines.join('\n')}\n`
  const file = join(dir, 'big.txt')
  writeFileSync(file, text)
  const out = join(dir, 'big-out')
  await small.textFile(file).map((line) => [line.slice(0, 3), line.slice(3)] as const).sortByKey(false, { partitions: 2 }).map(([k, v]) => k + v).saveAsTextFile(out)
  assert.equal(read(out), reference(text, false))
  const stages = small.jobs().flatMap((j) => j.stages)
  assert.ok(stages.some((s) => s.spillBytes > 0), 'the generic path spilled')
})

test('the bench program is fused on both sides; other shapes are not', async () => {
  const file = join(dir, 'shape.txt')
  writeFileSync(file, 'bbb1\naaa2\nccc3\n')
  const recs = sc.textFile(file)
  const sorted = recs.map((line) => [line.slice(0, 3), line.slice(3)] as const).sortByKey(true, { partitions: 2 })
  const plans = async (ds: { node: LNode }): Promise<{ result: PlanNode; map: { plan: PlanNode; output: TaskOutput } }> => {
    await prepareLineage(ds.node, new Set())
    const b = new PlanBuilder()
    const result = buildNode(ds.node, b)
    const stage = [...b.shuffles.values()][0]
    assert.ok(stage !== undefined)
    return { result, map: { plan: stage.plan, output: stage.output } }
  }
  const save: TaskOutput = { kind: 'save', format: 'text', dir }
  const fused = await plans(sorted.map(([k, v]) => k + v))
  assert.notEqual(matchSortReduce(fused.result, save), null)
  assert.notEqual(matchSortMap(fused.map.plan, 0, fused.map.output as Extract<TaskOutput, { kind: 'shuffle' }>), null)
  assert.equal(matchSortReduce(fused.result, { kind: 'save', format: 'json', dir }), null)
  assert.equal(matchSortReduce((await plans(sorted.map(([k, v]) => v + k))).result, save), null)
  const other = await plans(recs.map((line) => [line.slice(0, 3), line.slice(4)] as const).sortByKey(true, { partitions: 2 }).map(([k, v]) => k + v))
  assert.equal(matchSortMap(other.map.plan, 0, other.map.output as Extract<TaskOutput, { kind: 'shuffle' }>), null)
})

test('lines longer than the output buffer (1 MiB) and the read buffer', async (t) => {
  // 1 MiB splits (512-byte ones would make thousands of tasks, each scanning a long line).
  const big = new Context({ workers: 2, splitBytes: 1 << 20 })
  t.after(() => big.stop())
  await check(['zzz short', `mmm${'x'.repeat(1_500_000)}`, 'aaa', `bbb${'y'.repeat(2_200_000)}`, ''], false, true, 2, big)
})
