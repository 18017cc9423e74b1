// Issue 22 items 5 and 7 and the small request-line ones: one Host validation for HTTP/1.1, the
// fast path and h2 (:authority), `a.com.` = `a.com`, absolute-form keeps its authority in
// HTTP/1.0, CONNECT 400 / TRACE 405 / `OPTIONS *` answered locally, and a `Connection` listing
// never strips a header the proxy relies on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as h2connect, type ClientHttp2Session } from 'node:http2'
import { request } from 'undici'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { agent, backend, rawExchange, startProxy, type Backend } from './_helpers.js'
import { certFiles } from './_tls.js'

function h2get(session: ClientHttp2Session, headers: Record<string, string>): Promise<{ status: number; body: string; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'GET', ':path': '/', ...headers, 'x-via': 'h2' })
    let body = ''
    let status = 0
    let error: string | undefined
    s.on('response', (h) => {
      status = Number(h[':status'])
      error = h['x-switchyard-error'] as string | undefined
    })
    s.setEncoding('utf8')
    s.on('data', (c: string) => (body += c))
    s.on('end', () => resolve({ status, body, error }))
    // nghttp2 itself resets a stream whose :authority has bytes outside its allowed set.
    s.on('error', (err: Error & { code?: string }) => (err.code === 'ERR_HTTP2_STREAM_ERROR' ? resolve({ status: -1, body: err.message, error: undefined }) : reject(err)))
  })
}

for (const plugins of [[], builtinPlugins] as const) {
  const label = plugins.length === 0 ? 'core only' : 'builtin plugins'

  test(`h2 :authority gets the same Host validation as HTTP/1.1 (${label})`, async (t) => {
    const seen: (string | undefined)[] = []
    const b = await backend(t, 'app', (req, res) => {
      seen.push(req.headers.host)
      res.end(`host=${req.headers.host} xfh=${req.headers['x-forwarded-host']}`)
    })
    const certs = await certFiles()
    const { port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [certs] } }], pools: { app: { servers: [b.url] } } }, { plugins })
    // A session per request: nghttp2 itself may reset a stream whose :authority it finds invalid
    // (Node 24's does for userinfo and spaces), which also keeps it from the origin.
    const fresh = () => {
      const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      session.on('error', () => {})
      t.after(() => session.destroy())
      return session
    }
    for (const bad of ['localhost:@evil.example', 'user@app.test', 'app.test:99999', 'app test', 'a..']) {
      const r = await h2get(fresh(), { ':authority': bad })
      if (r.status === -1) continue
      assert.equal(r.status, 400, `${bad}: ${r.body}`)
      if (plugins.length === 0) assert.equal(r.error, 'ERR_PROXY_BAD_HOST')
    }
    assert.deepEqual(seen, [], 'no bad authority reached the origin')
    const good = await h2get(fresh(), { ':authority': 'App.Test.:8443' })
    assert.equal(good.status, 200)
    assert.equal(good.body, 'host=app.test:8443 xfh=app.test:8443')
  })

  test(`HTTP/1.1 refuses the same Host values with 400 on the fast path and on node:http (${label})`, async (t) => {
    const seen: (string | undefined)[] = []
    const b = await backend(t, 'app', (req, res) => {
      seen.push(req.headers.host)
      res.end('origin')
    })
    for (const client of [true, false]) {
      const { port, proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, fastPath: { client, upstream: true } }, { plugins })
      for (const bad of ['localhost:@evil.example', 'user@app.test', 'app.test:99999', 'a..']) {
        const text = await rawExchange(port, `GET / HTTP/1.1\r\nHost: ${bad}\r\nConnection: close\r\n\r\n`, 2000)
        assert.match(text, /^HTTP\/1\.1 400 /, `${bad} (fast path ${client}): ${text.slice(0, 80)}`)
        if (plugins.length === 0) assert.match(text, /x-switchyard-error: ERR_PROXY_BAD_HOST/i, bad)
      }
      const good = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: App.Test.:8443\r\nConnection: close\r\n\r\n', 2000)
      assert.match(good, /^HTTP\/1\.1 200 /, good)
      if (client) assert.ok(proxy.fastPathRequests > 0, 'the fast path took the requests it could')
    }
    assert.deepEqual(seen, ['app.test:8443', 'app.test:8443'], 'only the valid Host reached the origin, normalised')
  })

  test(`Host "a.com." routes and forwards like "a.com"; HTTP/1.0 absolute-form keeps its authority (${label})`, async (t) => {
    const a = await backend(t, 'a', (req, res) => res.end(`a ${req.headers.host} ${req.url}`))
    const other = await backend(t, 'other', (req, res) => res.end(`other ${req.headers.host}`))
    const { url, port } = await startProxy(
      t,
      { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { a: { servers: [a.url] }, other: { servers: [other.url] } }, routes: [{ match: { host: 'a.com' }, pool: 'a' }, { pool: 'other' }] },
      { plugins },
    )
    const d = agent(t)
    for (const host of ['a.com', 'a.com.', 'A.COM.']) {
      const r = await request(`${url}/x`, { dispatcher: d, headers: { host } })
      assert.equal(await r.body.text(), 'a a.com /x', host)
    }
    const abs = await rawExchange(port, 'GET http://a.com/y?q=1 HTTP/1.0\r\n\r\n', 2000)
    assert.match(abs, /^HTTP\/1\.1 200 /, abs)
    assert.match(abs, /a a\.com \/y\?q=1$/, abs)
  })

  test(`CONNECT is 400, TRACE is 405, "OPTIONS *" is answered by the proxy (${label})`, async (t) => {
    let hits: Backend['hits'] = 0
    const b = await backend(t, 'app', (_req, res) => {
      hits++
      res.end('origin')
    })
    const { port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } }, { plugins })
    const connect = await rawExchange(port, 'CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n', 2000)
    assert.match(connect, /^HTTP\/1\.1 400 /, connect)
    const trace = await rawExchange(port, 'TRACE / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n', 2000)
    assert.match(trace, /^HTTP\/1\.1 405 /, trace)
    assert.match(trace, /\r\nallow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n/i, trace)
    const star = await rawExchange(port, 'OPTIONS * HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n', 2000)
    assert.match(star, /^HTTP\/1\.1 204 /, star)
    assert.match(star, /\r\nallow: /i, star)
    assert.equal(hits, 0, 'nothing reached the origin')
  })
}
