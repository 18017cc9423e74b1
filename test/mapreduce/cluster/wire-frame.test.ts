import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { FrameDecoder, encodeFrameConcat } from '../../../src/mapreduce/cluster/wire-frame.js'

function decodeAll(bytes: Buffer, splits: number[], max = 1 << 20): Buffer[] {
  const out: Buffer[] = []
  const d = new FrameDecoder(max, (p) => out.push(Buffer.from(p)))
  let pos = 0
  for (const s of [...splits, bytes.length]) {
    if (s < pos) continue
    d.push(bytes.subarray(pos, s))
    pos = s
  }
  assert.equal(d.pendingBytes, 0)
  return out
}

const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0, 1, 2, 255]), Buffer.alloc(3000, 7)]
const stream = Buffer.concat(payloads.map((p) => encodeFrameConcat(p)))

test('frames decode fed one byte at a time', () => {
  const out: Buffer[] = []
  const d = new FrameDecoder(1 << 20, (p) => out.push(Buffer.from(p)))
  for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1))
  assert.deepEqual(out, payloads)
})

test('frames decode at every single split point', () => {
  for (let i = 0; i <= stream.length; i++) assert.deepEqual(decodeAll(stream, [i]), payloads, `split at ${i}`)
})

test('round trip holds for random payloads and random splits (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 8 }), fc.array(fc.nat(6000), { maxLength: 10 }), (ps, splits) => {
      const bytes = Buffer.concat(ps.map((p) => encodeFrameConcat(p)))
      const got = decodeAll(bytes, [...splits].sort((a, b) => a - b))
      assert.deepEqual(got, ps.map((p) => Buffer.from(p)))
    }),
    { numRuns: 200 },
  )
})

test('a frame over the size limit is refused before its payload is buffered', () => {
  const d = new FrameDecoder(100, () => assert.fail('must not emit'))
  const big = encodeFrameConcat(Buffer.alloc(101))
  assert.throws(() => d.push(big.subarray(0, 8)), { code: 'ERR_CLUSTER_FRAME_TOO_LARGE' })
})

test('a corrupted payload fails its checksum, in one chunk and across chunks', () => {
  const bad = encodeFrameConcat(Buffer.from('payload bytes'))
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
  assert.throws(() => new FrameDecoder(1000, () => {}).push(bad), { code: 'ERR_CLUSTER_FRAME_CHECKSUM' })
  const d = new FrameDecoder(1000, () => {})
  d.push(bad.subarray(0, 10))
  assert.throws(() => d.push(bad.subarray(10)), { code: 'ERR_CLUSTER_FRAME_CHECKSUM' })
})

test('negative control: the decoder does report a bit flip in the header length', () => {
  const f = encodeFrameConcat(Buffer.from('abc'))
  f[3] = 4 // length 3 -> 4: the payload now includes bytes that are not there yet
  const out: Buffer[] = []
  const d = new FrameDecoder(1000, (p) => out.push(p))
  d.push(f)
  assert.equal(out.length, 0)
  assert.ok(d.pendingBytes > 0)
})
