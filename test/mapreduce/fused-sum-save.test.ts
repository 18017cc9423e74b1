// The fused word count's shuffle (raw count frames) and reduce side (src/mapreduce/fused/sum-save.ts)
// must write exactly what the generic path writes: keys that need JSON escaping, non-ASCII and
// invalid UTF-8 keys, keys with equal hashes, and a reducer whose generic twin would spill (the
// fused one must then step aside, as the spilled output comes in another order).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../src/mapreduce/index.js'
import { decodeFrames, RAW_COUNT_FRAME, writeVarint } from '../../src/mapreduce/record-frames.js'
import { warmUpWordCount } from '../../src/mapreduce/fused/warm-up.js'

let dir: string
before(() => { dir = mkdtempSync(join(tmpdir(), 'sy-fsum-')) })
after(() => rmSync(dir, { recursive: true, force: true }))

const read = (out: string): string => readdirSync(out).filter((n) => n.startsWith('part-')).sort().map((n) => readFileSync(join(out, n), 'utf8')).join('')

/** Lines of tricky words: JSON escapes, control bytes, U+2028, astral and invalid UTF-8, FNV-1a collision pairs. */
function corpus(distinct: number): Buffer {
  const special = ['say"hi"', 'back\\slash', 'tab\there', 'ctl\u0001x', 'del\u007f', 'line\u2028sep', 'é', '😀x', 'costarring', 'liquid', 'declinate', 'macallums', 'altarage', 'zinke']
  const parts: Buffer[] = []
  for (let i = 0; i < 4000; i++) {
    const words = [special[i % special.length] as string, `w${(i * 7919) % distinct}`, `v${(i * 31) % distinct}`, `u${(i * 17) % distinct}`, `w${i % 37}`, i % 5 === 0 ? '' : 'the']
    parts.push(Buffer.from(`${words.join(' ')}${i % 9 === 0 ? '\r' : ''}\n`))
    if (i % 500 === 0) parts.push(Buffer.from([0x61, 0xff, 0x20, 0xc3, 0x0a]))
  }
  return Buffer.concat(parts)
}

async function both(sc: Context, file: string, tag: string, partitions: number): Promise<[string, string]> {
  const fused = join(dir, `${tag}-fused`)
  const generic = join(dir, `${tag}-generic`)
  await sc.textFile(file).flatMap((l) => l.split(' ')).filter((w) => w !== '').map((w) => [w, 1] as const).reduceByKey((a, b) => a + b, { partitions }).saveAsTextFile(fused)
  // `w !== '' && true` means the same but is not a recognised shape: the generic path runs.
  await sc.textFile(file).flatMap((l) => l.split(' ')).filter((w) => w !== '' && true).map((w) => [w, 1] as const).reduceByKey((a, b) => a + b, { partitions }).saveAsTextFile(generic)
  return [read(fused), read(generic)]
}

test('fused shuffle and reduce write byte-identical output to the generic path', async (t) => {
  const sc = new Context({ workers: 2, splitBytes: 8192 })
  t.after(() => sc.stop())
  const file = join(dir, 'tricky.txt')
  writeFileSync(file, corpus(500))
  for (const partitions of [1, 3]) {
    const [fused, generic] = await both(sc, file, `p${partitions}`, partitions)
    assert.equal(fused, generic)
    assert.ok(fused.includes('["say\\"hi\\"",') && fused.includes('["costarring",') && fused.includes('["liquid",'))
  }
})

test('a reducer over its memory budget falls back: same output as the spilling generic reducer', async (t) => {
  // 1 MiB per worker (a 314 KiB budget): the generic aggregator spills each partition's ~6,000 keys.
  const sc = new Context({ workers: 2, splitBytes: 16384, memoryPerWorkerMb: 1 })
  t.after(() => sc.stop())
  const file = join(dir, 'many.txt')
  writeFileSync(file, corpus(20_000))
  const [fused, generic] = await both(sc, file, 'spill', 2)
  assert.equal(fused, generic)
  const jobs = sc.jobs()
  assert.ok(jobs.flatMap((j) => j.stages).some((s) => s.spillBytes > 0), 'the generic reducer spilled')
})

test('raw count frames decode to [string, number] pairs for generic readers', () => {
  const rec = (k: string, v: number): Buffer => {
    const kb = Buffer.from(k)
    const b = Buffer.alloc(20 + kb.length)
    let o = writeVarint(b, 0, kb.length)
    o += kb.copy(b, o)
    return b.subarray(0, writeVarint(b, o, v))
  }
  const body = Buffer.concat([rec('a', 3), rec('é😀', 2 ** 40), rec('', 0), rec('x'.repeat(300), 2 ** 53 - 1)])
  const head = Buffer.alloc(4)
  head.writeUInt32LE(RAW_COUNT_FRAME + body.length, 0)
  const got: unknown[][] = []
  decodeFrames(Buffer.concat([head, body]), (v) => got.push(v))
  assert.deepEqual(got, [['a', 3, 'é😀', 2 ** 40, '', 0, 'x'.repeat(300), 2 ** 53 - 1]])
})

test('the warm-up runs the fused map and reduce loops on its synthetic input once per process', async () => {
  const first = warmUpWordCount()
  assert.equal(warmUpWordCount(), first)
  await first
})
