import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { ConnectionLimiter, InflightLimiter } from '../../../src/proxy/protect/concurrency.js'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { backend, sleep, startProxy } from '../_helpers.js'

test('connection limiter: per IP and total, release frees the slot', () => {
  const c = new ConnectionLimiter(2, 3)
  assert.equal(c.tryAcquire('a'), true)
  assert.equal(c.tryAcquire('a'), true)
  assert.equal(c.tryAcquire('a'), false)
  assert.equal(c.tryAcquire('b'), true)
  assert.equal(c.tryAcquire('c'), false)
  c.release('a')
  assert.equal(c.tryAcquire('c'), true)
  assert.equal(c.total, 3)
  const i = new InflightLimiter()
  const r1 = i.tryAcquire('r', 1)
  assert.ok(r1 !== undefined)
  assert.equal(i.tryAcquire('r', 1), undefined)
  r1()
  r1()
  assert.equal(i.current('r'), 0)
  assert.ok(i.tryAcquire('r', 1) !== undefined)
})

function openSocket(port: number): Promise<{ closedEarly: Promise<boolean>; destroy: () => void }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      const closedEarly = new Promise<boolean>((r) => {
        s.once('close', () => r(true))
        setTimeout(() => r(false), 500)
      })
      resolve({ closedEarly, destroy: () => s.destroy() })
    })
    s.on('error', () => {})
  })
}

test('per-IP connection cap closes excess connections at accept; stalled uploads get 408, oversized chunked bodies 413', async (t) => {
  const origin = await backend(t, 'origin', (req, res) => {
    req.resume()
    req.on('end', () => res.end('ok'))
  })
  const { port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1', limits: { maxConnectionsPerIp: 3 } }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app' }],
      limits: { bodyIdleTimeoutMs: 1000, maxBodyBytes: 100_000, minUploadBytesPerSec: 0 },
    },
    { plugins: builtinPlugins },
  )
  const socks = await Promise.all([0, 1, 2, 3].map(() => openSocket(port)))
  const early = await Promise.all(socks.map((s) => s.closedEarly))
  assert.deepEqual(early.filter(Boolean).length, 1)
  for (const s of socks) s.destroy()
  await sleep(100)

  // Body stalls after 10 of 100 bytes: 408 after the idle timeout, connection closed.
  const stalled = await new Promise<{ text: string; ms: number }>((resolve) => {
    const t0 = Date.now()
    let text = ''
    const s = connect(port, '127.0.0.1', () => s.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789'))
    s.on('data', (d: Buffer) => (text += d.toString()))
    s.on('error', () => {})
    s.on('close', () => resolve({ text, ms: Date.now() - t0 }))
  })
  assert.match(stalled.text, /^HTTP\/1\.1 408/)
  assert.ok(stalled.ms >= 900 && stalled.ms < 4000, `closed after ${stalled.ms} ms`)

  // A chunked upload that keeps growing past maxBodyBytes: 413 (counted on the wire).
  const big = await new Promise<string>((resolve) => {
    let text = ''
    const s = connect(port, '127.0.0.1', () => {
      s.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')
      const chunk = `4000\r\n${'x'.repeat(0x4000)}\r\n`
      let sent = 0
      const iv = setInterval(() => {
        if (s.destroyed || sent > 40) return clearInterval(iv)
        s.write(chunk)
        sent++
      }, 20)
    })
    s.on('data', (d: Buffer) => (text += d.toString()))
    s.on('error', () => {})
    s.on('close', () => resolve(text))
  })
  assert.match(big, /^HTTP\/1\.1 413/)
})
