// Strings that are not well-formed UTF-16 (lone surrogates) survive shuffle and spill framing
// unchanged, both as values and as object keys, and through a real shuffle in the engine.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { decodeFrames, encodeFrame, FrameFileReader } from '../../src/mapreduce/record-frames.js'
import { Context } from '../../src/mapreduce/index.js'

// Any sequence of UTF-16 code units, so lone high and low surrogates appear often.
const units = fc.array(fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 6 })
const rawString = units.map((cs) => String.fromCharCode(...cs))
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, rawString, fc.integer(), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(rawString, tie('v'), { maxKeys: 3, noNullPrototype: true })),
})).v

test('frames round-trip records holding lone surrogates in values and keys', () => {
  fc.assert(fc.property(fc.array(value, { maxLength: 8 }), (records) => {
    const out: unknown[][] = []
    decodeFrames(encodeFrame(records), (vs) => out.push(vs))
    assert.deepEqual(out, [records])
  }), { numRuns: 500 })
})

test('spill frame files read back lone surrogates unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-utf16-'))
  try {
    const records = ['\ud800', ['a\udc00b', { ['k\udbff']: 'x' }], { ['\udfff']: 1 }]
    const file = join(dir, 'run')
    writeFileSync(file, Buffer.concat([encodeFrame(records), encodeFrame(['ok'])]))
    const reader = new FrameFileReader(file)
    assert.deepEqual(reader.next(), records)
    assert.deepEqual(reader.next(), ['ok'])
    assert.equal(reader.next(), null)
    reader.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a shuffle keeps keys and values that hold lone surrogates', async () => {
  const sc = new Context({ workers: 2, defaultPartitions: 3 })
  try {
    const words = ['\ud83d', '\ude00', '\ud83d\ude00', 'a\ud800', 'a\ufffd', 'plain']
    const pairs = words.flatMap((w, i) => [[w, i], [w, 10 * i]] as Array<[string, number]>)
    const got = await sc.parallelize(pairs, 4).reduceByKey((a, b) => a + b).collect()
    const want = words.map((w, i) => [w, 11 * i])
    assert.deepEqual([...got].sort(), want.sort())
    const grouped = await sc.parallelize(words.map((w) => [w.length, w] as [number, string]), 3).groupByKey().mapValues((vs) => [...vs].sort().join('|')).collect()
    assert.deepEqual(new Map(grouped), new Map([[1, '\ud83d|\ude00'], [2, ['\ud83d\ude00', 'a\ud800', 'a\ufffd'].sort().join('|')], [5, 'plain']]))
  } finally {
    await sc.stop()
  }
})
