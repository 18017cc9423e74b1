// Issue 22 items 2-4: every way an HTTP/2 stream or connection ends releases its upstream work
// and counters; a session node has sent GOAWAY on does not sit in CLOSE-WAIT; TLS handshakes and
// idle h2 sessions get the same deadlines as plain HTTP connections.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as h2connect } from 'node:http2'
import { connect as tlsConnect } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { backend, startProxy, waitFor } from './_helpers.js'
import { certFiles } from './_tls.js'

async function h2Proxy(t: import('node:test').TestContext, handler?: Parameters<typeof backend>[2]) {
  const b = await backend(t, 'app', handler)
  const certs = await certFiles()
  const started = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [certs] }, headersTimeoutMs: 500, keepAliveTimeoutMs: 400 }],
      pools: { app: { servers: [b.url], circuitBreaker: { maxConcurrent: 10, maxPending: 0 } } },
    },
    { plugins: builtinPlugins },
  )
  return { ...started, backend: b }
}

function h2status(session: ReturnType<typeof h2connect>, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve) => {
    const s = session.request(headers, { endStream: body === undefined })
    s.on('response', (h) => resolve(Number(h[':status'])))
    s.on('error', () => resolve(-1))
    s.on('close', () => resolve(-1))
    s.resume()
    if (body !== undefined) s.end(body)
  })
}

test('h2 streams reset by a protocol error (content-length 1, 2 bytes sent) release their upstream slot', async (t) => {
  const { port, proxy } = await h2Proxy(t, (req, res) => {
    req.resume()
    req.on('end', () => res.end('ok'))
  })
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  t.after(() => session.destroy())
  const bad = await Promise.all(Array.from({ length: 30 }, () => h2status(session, { ':method': 'POST', ':path': '/', 'content-length': '1' }, 'xx')))
  assert.ok(bad.every((s) => s === -1 || s >= 400), `bad streams: ${bad.join(',')}`)
  const server = proxy.generation.pools.get('app')?.servers[0]
  await waitFor(() => server?.active === 0, 5000, `upstream active back to 0 (is ${server?.active})`)
  // With the slots leaked, the circuit breaker (maxConcurrent 10) would answer 503 from here on.
  // A new session: Node 24's nghttp2 ends the whole session on the content-length mismatch.
  const next = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  next.on('error', () => {})
  t.after(() => next.destroy())
  const good = await Promise.all(Array.from({ length: 5 }, () => h2status(next, { ':method': 'GET', ':path': '/' })))
  assert.deepEqual(good, [200, 200, 200, 200, 200])
  await waitFor(() => proxy.generation.inflight === 0, 3000, 'inflight back to 0')
})

/** A raw h2 connection: preface, empty SETTINGS, HEADERS(END_STREAM) on stream 1, then DATA on it. */
function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream, 5)
  return Buffer.concat([head, payload])
}

test('an h2 connection that got GOAWAY after DATA on a closed stream is closed, not left in CLOSE-WAIT', async (t) => {
  const { port, proxy } = await h2Proxy(t)
  const closedIn = await new Promise<number>((resolve, reject) => {
    const started = Date.now()
    const s = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      // HPACK: :method GET (0x82), :path / (0x84), :scheme https (0x87), :authority "app.test" (0x41 literal).
      const block = Buffer.concat([Buffer.from([0x82, 0x84, 0x87, 0x41, 8]), Buffer.from('app.test')])
      s.write(Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        h2Frame(0x4, 0, 0, Buffer.alloc(0)),
        h2Frame(0x1, 0x5, 1, block),
        h2Frame(0x0, 0, 1, Buffer.from('x')),
      ]))
    })
    s.on('data', () => {})
    s.on('error', () => {})
    s.on('close', () => resolve(Date.now() - started))
    setTimeout(() => {
      s.destroy()
      reject(new Error('the proxy kept the connection open for 8 s'))
    }, 8000)
  })
  assert.ok(closedIn < 8000, `closed after ${closedIn} ms`)
  await waitFor(() => proxy.connectionCount === 0, 3000, 'connection released')
})

test('a TCP connection that never starts TLS, and an idle h2 session, are closed by the listener timeouts', async (t) => {
  const { port, proxy } = await h2Proxy(t)
  const silent = await new Promise<number>((resolve, reject) => {
    const started = Date.now()
    const s = netConnect(port, '127.0.0.1')
    s.on('error', () => {})
    s.on('close', () => resolve(Date.now() - started))
    setTimeout(() => {
      s.destroy()
      reject(new Error('a connection without a TLS handshake stayed open 8 s'))
    }, 8000)
  })
  assert.ok(silent >= 300, `closed after ${silent} ms`)
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  t.after(() => session.destroy())
  assert.equal(await h2status(session, { ':method': 'GET', ':path': '/' }), 200)
  const idleStart = Date.now()
  await new Promise<void>((resolve, reject) => {
    session.once('close', () => resolve())
    setTimeout(() => reject(new Error('an idle h2 session stayed open 8 s')), 8000)
  })
  assert.ok(Date.now() - idleStart < 8000)
  await waitFor(() => proxy.connectionCount === 0, 3000, 'connections released')
})
