// The HTTP/1.1 fast path end to end: pipelining, heads split across packets, hand-over to node:http
// mid-connection, keep-alive reuse upstream, upstreams that close, chunked answers, HEAD, 304,
// errors, and clients that misbehave. Every test also checks which path served the requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer as createTcpServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { agent, backend, rawExchange, sleep, startProxy, waitFor } from '../_helpers.js'

const LISTEN = [{ port: 0, address: '127.0.0.1' }]

/** Reads from a raw connection until `count` complete responses (Content-Length or chunked) arrived. */
function readResponses(s: Socket, count: number, timeoutMs = 5000): Promise<{ status: number; headers: Record<string, string>; body: string }[]> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const out: { status: number; headers: Record<string, string>; body: string }[] = []
    const timer = setTimeout(() => reject(new Error(`got ${out.length} of ${count} responses: ${JSON.stringify(buf.slice(0, 300))}`)), timeoutMs)
    const tryParse = (): void => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const lines = buf.slice(0, end).split('\r\n')
        const status = Number((lines[0] ?? '').split(' ')[1])
        const headers: Record<string, string> = {}
        for (const l of lines.slice(1)) {
          const c = l.indexOf(':')
          headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
        }
        let rest = buf.slice(end + 4)
        let body = ''
        if (headers['transfer-encoding'] === 'chunked') {
          for (;;) {
            const nl = rest.indexOf('\r\n')
            if (nl < 0) return
            const size = parseInt(rest.slice(0, nl), 16)
            if (rest.length < nl + 2 + size + 2) return
            body += rest.slice(nl + 2, nl + 2 + size)
            rest = rest.slice(nl + 2 + size + 2)
            if (size === 0) break
          }
        } else {
          const n = Number(headers['content-length'] ?? 0)
          if (rest.length < n) return
          body = rest.slice(0, n)
          rest = rest.slice(n)
        }
        buf = rest
        out.push({ status, headers, body })
        if (out.length === count) {
          clearTimeout(timer)
          s.off('data', onData)
          resolve(out)
          return
        }
      }
    }
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1')
      tryParse()
    }
    s.on('data', onData)
  })
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })
}

test('pipelined requests are answered in order on the fast path', async (t) => {
  const b = await backend(t, 'a')
  const { proxy, port } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const s = await open(port)
  t.after(() => s.destroy())
  const reqs = ['/1', '/2', '/3', '/4'].map((p) => `GET ${p} HTTP/1.1\r\nhost: a.test\r\n\r\n`).join('')
  s.write(reqs)
  const rs = await readResponses(s, 4)
  assert.deepEqual(rs.map((r) => (JSON.parse(r.body) as { url: string }).url), ['/1', '/2', '/3', '/4'])
  assert.equal(proxy.fastPathRequests, 4)
})

test('a head split across packets (one byte at a time) is served; keep-alive continues after it', async (t) => {
  const b = await backend(t, 'a')
  const { proxy, port } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const s = await open(port)
  t.after(() => s.destroy())
  s.setNoDelay(true)
  const text = 'GET /split HTTP/1.1\r\nhost: a.test\r\nx-a: 1\r\n\r\n'
  const got = readResponses(s, 1)
  for (const ch of text) {
    s.write(ch)
    await sleep(2)
  }
  const [r] = await got
  assert.equal((JSON.parse(r?.body ?? '{}') as { url: string }).url, '/split')
  s.write('GET /again HTTP/1.1\r\nhost: a.test\r\n\r\n')
  const [r2] = await readResponses(s, 1)
  assert.equal((JSON.parse(r2?.body ?? '{}') as { url: string }).url, '/again')
  assert.equal(proxy.fastPathRequests, 2)
})

test('hand-over to node:http at a request boundary: GET (fast), POST with body (node), GET (node)', async (t) => {
  const b = await backend(t, 'a', (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.stringify({ url: req.url, method: req.method, body: Buffer.concat(chunks).toString() })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  const { proxy, port } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const s = await open(port)
  t.after(() => s.destroy())
  s.write('GET /one HTTP/1.1\r\nhost: a\r\n\r\nPOST /two HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhelloGET /three HTTP/1.1\r\nhost: a\r\n\r\n')
  const rs = await readResponses(s, 3)
  const bodies = rs.map((r) => JSON.parse(r.body) as { url: string; method: string; body: string })
  assert.deepEqual(bodies.map((x) => x.url), ['/one', '/two', '/three'])
  assert.equal(bodies[1]?.body, 'hello')
  // Only the first was ours: after a hand-over node:http keeps the connection.
  assert.equal(proxy.fastPathRequests, 1)
  // A split POST body arriving later still reaches node intact.
  const s2 = await open(port)
  t.after(() => s2.destroy())
  s2.write('POST /late HTTP/1.1\r\nhost: a\r\ncontent-length: 6\r\n\r\nab')
  await sleep(30)
  s2.write('cdef')
  const [late] = await readResponses(s2, 1)
  assert.equal((JSON.parse(late?.body ?? '{}') as { body: string }).body, 'abcdef')
})

test('keep-alive reuse upstream: many requests share a few upstream sockets; fastPath off uses node:http', async (t) => {
  const b = await backend(t, 'a')
  let upstreamSockets = 0
  b.server.on('connection', () => upstreamSockets++)
  const { proxy, url } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const d = agent(t, { connections: 1 })
  for (let i = 0; i < 50; i++) {
    const r = await request(`${url}/k/${i}`, { dispatcher: d })
    assert.equal(r.statusCode, 200)
    await r.body.dump()
  }
  assert.equal(upstreamSockets, 1)
  assert.equal(proxy.fastPathRequests, 50)
  const off = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } }, fastPath: { client: false, upstream: false } })
  const r = await request(`${off.url}/off`, { dispatcher: d })
  assert.equal(r.statusCode, 200)
  await r.body.dump()
  assert.equal(off.proxy.fastPathRequests, 0)
})

test('upstreams that close: Connection: close answers, idle sockets closed by the origin, resets mid-body', async (t) => {
  let n = 0
  const b = await backend(t, 'a', (req, res) => {
    n++
    if (req.url === '/close') {
      res.writeHead(200, { 'content-length': 2, connection: 'close' })
      res.end('ok')
    } else if (req.url === '/reset') {
      res.writeHead(200, { 'content-length': 100 })
      res.write('partial')
      setTimeout(() => res.socket?.destroy(), 20)
    } else {
      res.writeHead(200, { 'content-length': 2 })
      res.end('ok')
    }
  })
  b.server.keepAliveTimeout = 50 // the origin closes idle keep-alive sockets quickly
  const { url } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const d = agent(t)
  for (let i = 0; i < 5; i++) {
    const r = await request(`${url}/close`, { dispatcher: d })
    assert.equal(await r.body.text(), 'ok')
  }
  for (let i = 0; i < 3; i++) {
    const r = await request(`${url}/plain`, { dispatcher: d })
    assert.equal(r.statusCode, 200)
    assert.equal(await r.body.text(), 'ok')
    await sleep(120) // the origin has closed the idle socket by now
  }
  await assert.rejects(async () => {
    const r = await request(`${url}/reset`, { dispatcher: d })
    await r.body.text()
  })
  assert.ok(n >= 9)
  // Still serving afterwards.
  const r = await request(`${url}/plain`, { dispatcher: d })
  assert.equal(await r.body.text(), 'ok')
})

test('chunked answers stream through, HEAD keeps the length without a body, 304 has no body', async (t) => {
  const b = await backend(t, 'a', (req, res) => {
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('hello ')
      setTimeout(() => res.end('world'), 20)
    } else if (req.url === '/etag') {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' })
        res.end()
      } else {
        res.writeHead(200, { etag: '"v1"', 'content-length': 4 })
        res.end('body')
      }
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11 })
      res.end(req.method === 'HEAD' ? undefined : 'hello world')
    }
  })
  const { proxy, port } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [b.url] } } })
  const s = await open(port)
  t.after(() => s.destroy())
  s.write('GET /chunked HTTP/1.1\r\nhost: a\r\n\r\n')
  const [c] = await readResponses(s, 1)
  assert.equal(c?.headers['transfer-encoding'], 'chunked')
  assert.equal(c?.body, 'hello world')
  // HEAD then GET on the same connection: the HEAD answer must carry no body bytes.
  s.write('HEAD /fixed HTTP/1.1\r\nhost: a\r\n\r\nGET /etag HTTP/1.1\r\nhost: a\r\nif-none-match: "v1"\r\n\r\nGET /fixed HTTP/1.1\r\nhost: a\r\n\r\n')
  const raw = await new Promise<string>((resolve) => {
    let text = ''
    const on = (d: Buffer): void => {
      text += d.toString('latin1')
      if (text.endsWith('hello world')) {
        s.off('data', on)
        resolve(text)
      }
    }
    s.on('data', on)
  })
  const heads = raw.split('HTTP/1.1 ').slice(1)
  assert.equal(heads.length, 3)
  assert.match(heads[0] ?? '', /^200 /)
  assert.match(heads[0] ?? '', /content-length: 11\r\n/)
  assert.ok((heads[0] ?? '').endsWith('\r\n\r\n'), 'HEAD answer has no body')
  assert.match(heads[1] ?? '', /^304 /)
  assert.ok((heads[1] ?? '').endsWith('\r\n\r\n'), '304 has no body')
  assert.ok((heads[2] ?? '').endsWith('hello world'))
  assert.equal(proxy.fastPathRequests, 4)
})

test('upstream errors: refused connection 502, garbage answer 502, headers timeout 504, retry to a live server', async (t) => {
  // A 70 KB answer head (over the 64 KiB limit) whose end arrives in a second write.
  const huge = createTcpServer((sock) => sock.once('data', () => {
    sock.write(`HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(40_000)}\r\n`)
    setTimeout(() => sock.end(`X-B: ${'b'.repeat(30_000)}\r\nContent-Length: 0\r\n\r\n`), 50)
  }))
  await new Promise<void>((r) => huge.listen(0, '127.0.0.1', r))
  t.after(() => huge.close())
  const garbage = createTcpServer((sock) => sock.on('data', () => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello')))
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r))
  t.after(() => garbage.close())
  const silent = createTcpServer(() => {})
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  t.after(() => silent.close())
  const closed = createTcpServer()
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
  const deadPort = (closed.address() as AddressInfo).port
  await new Promise<void>((r) => closed.close(() => r()))
  const live = await backend(t, 'live')
  const { url } = await startProxy(t, {
    listeners: LISTEN,
    pools: {
      dead: { servers: [`http://127.0.0.1:${deadPort}`], retry: { attempts: 0 } },
      garbage: { servers: [`http://127.0.0.1:${(garbage.address() as AddressInfo).port}`] },
      huge: { servers: [`http://127.0.0.1:${(huge.address() as AddressInfo).port}`], retry: { attempts: 0 } },
      silent: { servers: [`http://127.0.0.1:${(silent.address() as AddressInfo).port}`] },
      mixed: { servers: [`http://127.0.0.1:${deadPort}`, live.url], balance: 'round-robin', outlier: { consecutiveConnectErrors: 0 } },
    },
    routes: [
      { match: { pathPrefix: '/dead' }, pool: 'dead' },
      { match: { pathPrefix: '/garbage' }, pool: 'garbage' },
      { match: { pathPrefix: '/huge' }, pool: 'huge' },
      { match: { pathPrefix: '/silent' }, pool: 'silent', timeouts: { headersMs: 200 } },
      { match: { pathPrefix: '/mixed' }, pool: 'mixed' },
    ],
  })
  const d = agent(t)
  const get = async (p: string): Promise<[number, string | undefined]> => {
    const r = await request(`${url}${p}`, { dispatcher: d })
    await r.body.dump()
    return [r.statusCode, r.headers['x-switchyard-error'] as string | undefined]
  }
  assert.deepEqual(await get('/dead'), [502, 'ERR_PROXY_UPSTREAM_CONNECT'])
  assert.deepEqual(await get('/garbage'), [502, 'ERR_PROXY_UPSTREAM_PROTOCOL'])
  assert.deepEqual(await get('/huge'), [502, 'ERR_PROXY_UPSTREAM_PROTOCOL'])
  assert.deepEqual(await get('/silent'), [504, 'ERR_PROXY_UPSTREAM_TIMEOUT'])
  for (let i = 0; i < 4; i++) assert.deepEqual(await get(`/mixed/${i}`), [200, undefined])
})

test('misbehaving clients never take the server down: garbage, huge heads, truncated heads, resets, slow heads', async (t) => {
  const b = await backend(t, 'a')
  const { proxy, port, url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1', headersTimeoutMs: 300 }],
    pools: { app: { servers: [b.url] } },
  })
  const garbage = await rawExchange(port, '\x00\x01\x02 garbage \r\n\r\n', 2000)
  assert.match(garbage, /^HTTP\/1\.1 400 /)
  const huge = await rawExchange(port, `GET / HTTP/1.1\r\nhost: a\r\nx: ${'a'.repeat(20_000)}\r\n\r\n`, 2000)
  // Declined by the fast path; node's parser refuses it (431 with the protection plugin, else 400).
  assert.match(huge, /^HTTP\/1\.1 4(00|31) /)
  // Truncated head, then the client half-closes: nothing to answer, no crash.
  const trunc = await open(port)
  const truncText = await new Promise<string>((resolve) => {
    let text = ''
    trunc.on('data', (c: Buffer) => (text += c.toString('latin1')))
    trunc.on('close', () => resolve(text))
    trunc.on('error', () => {})
    trunc.end('GET / HTTP/1.1\r\nhost: a\r\n')
  })
  assert.equal(truncText, '')
  // A head that never completes is cut at the headers timeout with 408.
  const slow = await open(port)
  slow.write('GET / HTTP/1.1\r\nhost: a\r\n')
  const slowText = await new Promise<string>((resolve) => {
    let text = ''
    slow.on('data', (c: Buffer) => (text += c.toString('latin1')))
    slow.on('close', () => resolve(text))
    slow.on('error', () => {})
  })
  assert.match(slowText, /^HTTP\/1\.1 408 /)
  // Resets right after sending a request, many times over.
  for (let i = 0; i < 50; i++) {
    const s = await open(port)
    s.write('GET /x HTTP/1.1\r\nhost: a\r\n\r\n')
    s.resetAndDestroy()
  }
  const r = await request(`${url}/still-up`, { dispatcher: agent(t) })
  assert.equal(r.statusCode, 200)
  await r.body.dump()
  await waitFor(() => proxy.generation.inflight === 0, 5000, 'in-flight requests to drain')
})

test('close-delimited upstream bodies (no length, HTTP/1.0 too) and 1xx before the answer stream through', async (t) => {
  const origin = createTcpServer((sock) => {
    sock.on('error', () => {})
    sock.once('data', (d: Buffer) => {
      const path = d.toString('latin1').split(' ')[1]
      if (path === '/http10') sock.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nold style body')
      else if (path === '/early') sock.end('HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhints')
      else {
        sock.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\npart one, ')
        setTimeout(() => sock.end('part two'), 20)
      }
    })
  })
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  t.after(() => origin.close())
  const { proxy, url } = await startProxy(t, { listeners: LISTEN, pools: { app: { servers: [`http://127.0.0.1:${(origin.address() as AddressInfo).port}`] } } })
  const d = agent(t)
  const text = async (p: string): Promise<string> => {
    const r = await request(`${url}${p}`, { dispatcher: d })
    assert.equal(r.statusCode, 200)
    return r.body.text()
  }
  assert.equal(await text('/until-close'), 'part one, part two')
  assert.equal(await text('/http10'), 'old style body')
  assert.equal(await text('/early'), 'hints')
  assert.equal(proxy.fastPathRequests, 3)
  const server = proxy.generation.pools.get('app')?.servers[0]
  await waitFor(() => (server?.fast?.connections ?? 0) === 0, 2000, 'non-reusable upstream sockets to close')
})

test('HTTPS: HTTP/1.1 over TLS takes the fast path (pipelined, X-Forwarded-Proto https); h2 (ALPN) and a body still go through node', async (t) => {
  const { connect: tlsConnect } = await import('node:tls')
  const { connect: h2connect } = await import('node:http2')
  const { certFiles } = await import('../_tls.js')
  const b = await backend(t, 'a')
  const pair = await certFiles('a.test')
  for (const http2 of [true, false]) {
    const { proxy, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { http2, certs: [pair] } }], pools: { app: { servers: [b.url] } } })
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = tlsConnect({ port, host: '127.0.0.1', servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve(c))
      c.on('error', reject)
    })
    t.after(() => s.destroy())
    s.write(['/1', '/2', '/3'].map((p) => `GET ${p} HTTP/1.1\r\nhost: a.test\r\n\r\n`).join(''))
    const rs = await readResponses(s, 3)
    const seen = rs.map((r) => JSON.parse(r.body) as { url: string; headers: Record<string, string> })
    assert.deepEqual(seen.map((r) => r.url), ['/1', '/2', '/3'])
    assert.equal(seen[0]?.headers['x-forwarded-proto'], 'https')
    assert.equal(proxy.fastPathRequests, 3, `http2: ${http2}`)
    // A request with a body is handed to node:http on the same TLS connection, and answered.
    s.write('POST /body HTTP/1.1\r\nhost: a.test\r\ncontent-length: 2\r\n\r\nhi')
    const [post] = await readResponses(s, 1)
    assert.equal((JSON.parse(post?.body ?? '{}') as { url: string }).url, '/body')
    assert.equal(proxy.fastPathRequests, 3)
    if (!http2) continue
    // HTTP/2 negotiated by ALPN is node's, never the fast path's.
    const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'a.test' })
    t.after(() => session.close())
    const body = await new Promise<string>((resolve, reject) => {
      const st = session.request({ ':path': '/h2', host: 'a.test' })
      let text = ''
      st.on('data', (c: Buffer) => (text += c.toString()))
      st.on('end', () => resolve(text))
      st.on('error', reject)
    })
    assert.equal((JSON.parse(body) as { url: string }).url, '/h2')
    assert.equal(proxy.fastPathRequests, 3)
  }
})
