// Issue 22 items 2-4: every way an HTTP/2 stream or connection ends releases its upstream work
// and counters; a session node has sent GOAWAY on does not sit in CLOSE-WAIT; TLS handshakes and
// idle h2 sessions get the same deadlines as plain HTTP connections.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as h2connect, constants as h2c } from 'node:http2'
import { connect as tlsConnect } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { backend, startProxy, waitFor } from './_helpers.js'
import { certFiles } from './_tls.js'

async function h2Proxy(t: import('node:test').TestContext, handler?: Parameters<typeof backend>[2], maxConnectionsPerIp = 0) {
  const b = await backend(t, 'app', handler)
  const certs = await certFiles()
  const started = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [certs] }, headersTimeoutMs: 500, keepAliveTimeoutMs: 400, limits: { maxConnectionsPerIp } }],
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
  // One connection per address: the stuck one would lock this address out of the listener.
  const { port, proxy } = await h2Proxy(t, undefined, 1)
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
  // Its maxConnectionsPerIp slot went with it: the next connection from the same address is served.
  const next = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  next.on('error', () => {})
  t.after(() => next.destroy())
  assert.equal(await h2status(next, { ':method': 'GET', ':path': '/' }), 200)
})

test('a TCP connection that never starts TLS, an idle h2 session, and HTTP/1.1 over TLS with an unfinished head or an idle keep-alive are closed by the listener timeouts', async (t) => {
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
  // HTTP/1.1 over the same TLS listener: a head that never ends (headersTimeoutMs), and an idle
  // keep-alive connection after one answer (keepAliveTimeoutMs), as on plain HTTP.
  for (const [what, bytes] of [
    ['an unfinished head', 'GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: '],
    ['an idle keep-alive connection', 'GET / HTTP/1.1\r\nHost: app.test\r\n\r\n'],
  ] as const) {
    const closed = await new Promise<{ ms: number; text: string }>((resolve, reject) => {
      const started = Date.now()
      let text = ''
      const s = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write(bytes))
      s.setEncoding('latin1')
      s.on('data', (c: string) => (text += c))
      s.on('error', () => {})
      s.on('close', () => resolve({ ms: Date.now() - started, text }))
      setTimeout(() => {
        s.destroy()
        reject(new Error(`TLS HTTP/1.1 with ${what} stayed open 8 s`))
      }, 8000)
    })
    if (what === 'an idle keep-alive connection') assert.match(closed.text, /^HTTP\/1\.1 200 /, closed.text)
    assert.ok(closed.ms >= 300, `${what}: closed after ${closed.ms} ms`)
  }
  await waitFor(() => proxy.connectionCount === 0, 3000, 'connections released')
})

test("the issue's reproduction: 100 streams of POST content-length 1 + DATA 'xx' on each of 10 connections leave nothing in flight", async (t) => {
  const { port, proxy } = await h2Proxy(t, (req, res) => {
    req.resume()
    req.on('end', () => res.end('ok'))
    req.on('error', () => {})
  })
  const sessions = Array.from({ length: 10 }, () => {
    const s = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
    s.on('error', () => {})
    t.after(() => s.destroy())
    return s
  })
  const bad = await Promise.all(sessions.flatMap((s) => Array.from({ length: 100 }, () => h2status(s, { ':method': 'POST', ':path': '/', 'content-length': '1' }, 'xx').catch(() => -1))))
  assert.equal(bad.length, 1000)
  assert.ok(bad.every((s) => s === -1 || s >= 400), `a stream with a bad body got ${bad.find((s) => s !== -1 && s < 400)}`)
  const server = proxy.generation.pools.get('app')?.servers[0]
  await waitFor(() => proxy.generation.inflight === 0 && server?.active === 0, 10_000, `in flight back to 0 (is ${proxy.generation.inflight}, upstream ${server?.active})`)
  for (const s of sessions) s.destroy()
  // With 1000 slots leaked the circuit breaker (maxConcurrent 10) would answer 503 from here on.
  const next = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  next.on('error', () => {})
  t.after(() => next.destroy())
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(await Promise.all(Array.from({ length: 10 }, () => h2status(next, { ':method': 'GET', ':path': '/' }))), Array(10).fill(200))
  }
  next.destroy()
  await waitFor(() => proxy.connectionCount === 0, 5000, `connections back to 0 (is ${proxy.connectionCount})`)
})

test('every way an h2 stream or session ends while its upstream is still working aborts that upstream request', async (t) => {
  // The origin holds every request open (some after the first body bytes) until the proxy lets go.
  let open = 0
  let seen = 0
  const { port, proxy } = await h2Proxy(t, (req, res) => {
    open++
    seen++
    res.on('close', () => open--)
    req.resume()
    req.on('error', () => {})
    if (req.url === '/streaming') {
      res.writeHead(200)
      res.write('partial')
    }
  })
  const server = proxy.generation.pools.get('app')?.servers[0]
  // The TLS socket under each session, so a test can drop the connection without any h2 frame.
  const sockets = new WeakMap<ReturnType<typeof h2connect>, ReturnType<typeof tlsConnect>>()
  const session = () => {
    let raw: ReturnType<typeof tlsConnect> | undefined
    const s = h2connect(`https://127.0.0.1:${port}`, {
      createConnection: () => (raw = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'] })),
    })
    s.on('error', () => {})
    t.after(() => s.destroy())
    if (raw !== undefined) sockets.set(s, raw)
    return s
  }
  const opened = (path: string, s: ReturnType<typeof h2connect>, method = 'GET') => {
    const st = s.request({ ':method': method, ':path': path }, { endStream: method === 'GET' })
    st.on('error', () => {})
    st.resume()
    return st
  }
  const released = async (what: string) => {
    await waitFor(() => open === 0 && proxy.generation.inflight === 0 && server?.active === 0, 5000, `${what}: origin open ${open}, in flight ${proxy.generation.inflight}, upstream ${server?.active}`)
  }
  const reached = async (n: number, what: string) => waitFor(() => seen >= n, 5000, `${what}: the origin saw ${seen} of ${n}`)
  const ways: [string, (s: ReturnType<typeof h2connect>) => Promise<void>][] = [
    ['RST_STREAM(CANCEL) before the answer', async (s) => {
      const sts = [opened('/held', s), opened('/held', s)]
      await reached(seen + 2, 'cancel')
      for (const st of sts) st.close(h2c.NGHTTP2_CANCEL)
    }],
    ['RST_STREAM(CANCEL) in the middle of the answer body', async (s) => {
      const st = opened('/streaming', s)
      await new Promise<void>((r) => st.once('data', () => r()))
      st.close(h2c.NGHTTP2_CANCEL)
    }],
    ['RST_STREAM(CANCEL) while the request body is still being sent', async (s) => {
      const st = opened('/upload', s, 'POST')
      st.write('first part')
      await reached(seen + 1, 'upload')
      st.close(h2c.NGHTTP2_CANCEL)
    }],
    ['the TCP connection dropped with streams open', async (s) => {
      opened('/held', s)
      opened('/streaming', s)
      await reached(seen + 2, 'drop')
      sockets.get(s)?.destroy()
    }],
    ['GOAWAY from the client, then the connection closed', async (s) => {
      opened('/held', s)
      await reached(seen + 1, 'goaway')
      s.goaway(h2c.NGHTTP2_NO_ERROR)
      s.destroy()
    }],
  ]
  for (const [what, end] of ways) {
    await end(session())
    await released(what)
  }
  await waitFor(() => proxy.connectionCount === 0, 5000, `connections back to 0 (is ${proxy.connectionCount})`)
})
