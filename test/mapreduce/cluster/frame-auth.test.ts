import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { FrameOpener, FrameSealer, MAC_BYTES, deriveSessionKeys } from '../../../src/mapreduce/cluster/frame-auth.js'

const sn = randomBytes(32)
const cn = randomBytes(32)
const client = deriveSessionKeys('0123456789abcdef', 2, 'worker', sn, cn, 'client')
const server = deriveSessionKeys('0123456789abcdef', 2, 'worker', sn, cn, 'server')
const sealed = (s: FrameSealer, p: Buffer): Buffer => Buffer.concat([p, s.seal(p)])

test('each direction has its own key, shared by the two ends', () => {
  assert.deepEqual(client.send, server.receive)
  assert.deepEqual(client.receive, server.send)
  assert.notDeepEqual(client.send, client.receive)
  // Fresh nonces give fresh keys: a relayed handshake of another session is no use.
  const other = deriveSessionKeys('0123456789abcdef', 2, 'worker', sn, randomBytes(32), 'client')
  assert.notDeepEqual(other.send, client.send)
})

test('frames open in order; a flipped bit, a replay, a reorder and a reflected frame fail with ERR_CLUSTER_FRAME_AUTH', () => {
  const s = new FrameSealer(client.send)
  const f = [sealed(s, Buffer.from('a')), sealed(s, Buffer.from('b')), sealed(s, Buffer.from('c'))]
  const ok = new FrameOpener(server.receive)
  assert.equal(ok.open(f[0] as Buffer).toString(), 'a')
  assert.equal(ok.open(f[1] as Buffer).toString(), 'b')
  assert.equal(ok.open(f[2] as Buffer).toString(), 'c')
  const code = { code: 'ERR_CLUSTER_FRAME_AUTH' }
  const flipped = Buffer.from(f[0] as Buffer)
  flipped[0] = (flipped[0] as number) ^ 1
  assert.throws(() => new FrameOpener(server.receive).open(flipped), code)
  const replay = new FrameOpener(server.receive)
  replay.open(f[0] as Buffer)
  assert.throws(() => replay.open(f[0] as Buffer), code)
  assert.throws(() => new FrameOpener(server.receive).open(f[1] as Buffer), code, 'reordered: frame 1 at position 0')
  assert.throws(() => new FrameOpener(client.receive).open(f[0] as Buffer), code, 'reflected back to its sender')
  assert.throws(() => new FrameOpener(server.receive).open(Buffer.alloc(MAC_BYTES - 1)), code)
})

test('a sealed frame survives the decoder in every split and opens; its crc32 covers the MAC', async () => {
  const { FrameDecoder, encodeSealedFrame } = await import('../../../src/mapreduce/cluster/wire-frame.js')
  const payload = Buffer.from('run-task payload '.repeat(5))
  const wire = Buffer.concat(encodeSealedFrame(payload, new FrameSealer(client.send).seal(payload)))
  for (let cut = 0; cut <= wire.length; cut++) {
    const got: Buffer[] = []
    const d = new FrameDecoder(1 << 20, (p) => got.push(Buffer.from(p)))
    d.push(wire.subarray(0, cut))
    d.push(wire.subarray(cut))
    assert.equal(got.length, 1)
    assert.deepEqual(new FrameOpener(server.receive).open(got[0] as Buffer), payload)
  }
  const torn = Buffer.from(wire)
  torn[torn.length - 1] = (torn[torn.length - 1] as number) ^ 1
  assert.throws(() => new FrameDecoder(1 << 20, () => {}).push(torn), { code: 'ERR_CLUSTER_FRAME_CHECKSUM' })
})
