import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { expandInputs, parseCsvLine, planSplits, readSplitLines } from '../../src/mapreduce/text-input.js'
import type { TextSplit } from '../../src/mapreduce/task-spec.js'

async function linesOf(splits: TextSplit[]): Promise<string[]> {
  const out: string[] = []
  for (const s of splits) for await (const b of readSplitLines(s, () => {})) out.push(...b)
  return out
}

function expected(text: string): string[] {
  if (text === '') return []
  const body = text.endsWith('\n') ? text.slice(0, -1) : text
  return body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
}

test('byte-range splits on line boundaries lose and repeat no line, for every split size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-text-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.stringMatching(/^[a-zé€ \r]{0,12}$/), { maxLength: 30 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 40 }),
      async (lines, trailing, splitBytes) => {
        const text = lines.join('\n') + (trailing && lines.length > 0 ? '\n' : '')
        const file = join(dir, `f${n++}.txt`)
        writeFileSync(file, text)
        const splits = planSplits([file], splitBytes).flat()
        assert.deepEqual(await linesOf(splits), expected(text))
      },
    ),
    { numRuns: 300 },
  )
})

test('gzip files are read whole; directories and globs expand, skipping _ and . names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-glob-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'a.txt'), 'one\ntwo\n')
  writeFileSync(join(dir, 'sub', 'b.txt.gz'), gzipSync('three\nfour'))
  writeFileSync(join(dir, '_SUCCESS'), '')
  writeFileSync(join(dir, '.hidden'), 'x')
  assert.deepEqual(expandInputs(dir).map((f) => f.slice(dir.length)), ['/a.txt', '/sub/b.txt.gz'])
  assert.deepEqual(expandInputs(join(dir, '**/*.gz')).map((f) => f.slice(dir.length)), ['/sub/b.txt.gz'])
  assert.deepEqual(expandInputs(join(dir, '{a,c}.txt')).map((f) => f.slice(dir.length)), ['/a.txt'])
  const splits = planSplits(expandInputs(dir), 4)
  assert.deepEqual(await linesOf(splits.flat()), ['one', 'two', 'three', 'four'])
  assert.throws(() => expandInputs(join(dir, 'nothing-*.txt')), { code: 'ERR_JOB_INPUT_NOT_FOUND' })
})

test('CSV lines: quotes, escaped quotes and delimiters inside quotes', () => {
  assert.deepEqual(parseCsvLine('a,"b,c","d ""q"" e",', ','), ['a', 'b,c', 'd "q" e', ''])
  assert.deepEqual(parseCsvLine('x;y', ';'), ['x', 'y'])
})
