// The fast path's upstream sockets share one read buffer (fast/upstream-client.ts): every read is
// parsed, and what is kept copied out, before the next read of any socket can land in it. Many
// concurrent responses of every size (under, at and over the buffer; Content-Length and chunked;
// written in pieces so reads of different sockets interleave) must each arrive byte for byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { agent, backend, startProxy } from '../_helpers.js'

/** Deterministic bytes for one (seed, size): a xorshift stream, so every response differs. */
function bodyOf(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  let x = seed | 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  return b
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('fast path: 400 concurrent responses of 0 B to 600 KiB over shared upstream reads arrive byte for byte', { timeout: 120_000 }, async (t) => {
  const b = await backend(t, 'a', (req, res) => {
    const [, , seed, size, mode] = (req.url ?? '').split('/')
    const body = bodyOf(Number(seed), Number(size))
    res.writeHead(200, mode === 'cl' ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : { 'content-type': 'application/octet-stream' })
    // Pieces of varying size with a turn of the loop between them: the proxy's reads of this
    // socket interleave with reads of the others.
    let at = 0
    let piece = 1 + (Number(seed) % 50_000)
    const next = (): void => {
      if (at >= body.length) {
        res.end()
        return
      }
      res.write(body.subarray(at, at + piece))
      at += piece
      piece = Math.min(200_000, piece * 3)
      setImmediate(next)
    }
    next()
  })
  const { proxy, url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [{ url: b.url, maxConnections: 24 }] } } })
  const dispatcher = agent(t, { connections: 32 })
  const sizes = [0, 1, 4095, 65_536, 262_143, 262_144, 262_145, 600 * 1024]
  const jobs = Array.from({ length: 400 }, (_, i) => {
    const size = i < sizes.length * 2 ? (sizes[i % sizes.length] as number) : (i * 7919) % (600 * 1024)
    return { seed: 1000 + i, size, mode: i % 2 === 0 ? 'cl' : 'ch' }
  })
  let next = 0
  const bad: string[] = []
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++] as (typeof jobs)[number]
      const r = await request(`${url}/body/${j.seed}/${j.size}/${j.mode}`, { dispatcher })
      const got = Buffer.from(await r.body.arrayBuffer())
      if (r.statusCode !== 200 || got.length !== j.size || sha(got) !== sha(bodyOf(j.seed, j.size))) bad.push(`${j.seed}/${j.size}/${j.mode}: status ${r.statusCode}, ${got.length} bytes`)
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker))
  assert.deepEqual(bad, [], 'responses that did not arrive byte for byte')
  assert.equal(proxy.fastPathRequests, 400, 'every request went through the fast path and its upstream client')
})

test('fast path: clients that read slowly (writes queue in the proxy) still get their bytes while other upstream reads reuse the buffer', { timeout: 120_000 }, async (t) => {
  const b = await backend(t, 'a', (req, res) => {
    const [, , seed, size] = (req.url ?? '').split('/')
    const body = bodyOf(Number(seed), Number(size))
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.end(body)
  })
  const { proxy, url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [{ url: b.url, maxConnections: 24 }] } } })
  const dispatcher = agent(t, { connections: 32 })
  const bad: string[] = []
  const fetchOne = async (seed: number, size: number, slow: boolean): Promise<void> => {
    const r = await request(`${url}/body/${seed}/${size}`, { dispatcher, highWaterMark: 16 * 1024 })
    const parts: Buffer[] = []
    for await (const c of r.body) {
      parts.push(c as Buffer)
      // A slow reader: the kernel buffers fill and the proxy keeps the rest queued on the socket.
      if (slow) await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const got = Buffer.concat(parts)
    if (r.statusCode !== 200 || got.length !== size || sha(got) !== sha(bodyOf(seed, size))) bad.push(`${seed}/${size}${slow ? ' (slow)' : ''}: status ${r.statusCode}, ${got.length} bytes`)
  }
  const slow = [0, 1, 2, 3].map((i) => fetchOne(50 + i, 8 * 1024 * 1024, true))
  const fast = (async () => {
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 16 }, (_, i) => fetchOne(5000 + round * 16 + i, 1 + ((round * 16 + i) * 7919) % (300 * 1024), false)))
  })()
  await Promise.all([...slow, fast])
  assert.deepEqual(bad, [], 'responses that did not arrive byte for byte')
  assert.equal(proxy.fastPathRequests, 164, 'every request went through the fast path and its upstream client')
})
