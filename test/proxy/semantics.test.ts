// HTTP semantics through the proxy: HEAD, chunked both ways, trailers, 100-continue, 502/503/504,
// streaming without buffering, request ids, header and path rewrites.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { agent, backend, rawExchange, startProxy } from './_helpers.js'

test('HEAD, chunked bodies both ways, trailers and 100-continue', async (t) => {
  const b = await backend(t, 'a', (req, res) => {
    if (req.url === '/trailers') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' })
      res.write('part1-')
      res.write('part2')
      res.addTrailers({ 'x-checksum': 'abc123' })
      res.end()
      return
    }
    if (req.url === '/head') {
      res.writeHead(200, { 'content-length': '1234', 'x-head': 'yes' })
      res.end()
      return
    }
    // Echo the request body back, chunked.
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-te': String(req.headers['transfer-encoding']), 'x-expect': String(req.headers['expect']) })
      res.write(Buffer.concat(chunks))
      res.end()
    })
  })
  const { url, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const d = agent(t)

  const head = await request(`${url}/head`, { method: 'HEAD', dispatcher: d })
  assert.equal(head.statusCode, 200)
  assert.equal(head.headers['content-length'], '1234')
  assert.equal(head.headers['x-head'], 'yes')
  assert.equal((await head.body.arrayBuffer()).byteLength, 0)

  // Chunked request body (a generator has no length) echoed back chunked.
  async function* gen() {
    for (let i = 0; i < 50; i++) yield Buffer.alloc(1000, i)
  }
  const echo = await request(`${url}/echo`, { method: 'POST', body: Readable.from(gen()), dispatcher: d })
  assert.equal(echo.headers['transfer-encoding'], 'chunked')
  const echoed = Buffer.from(await echo.body.arrayBuffer())
  assert.equal(echoed.length, 50_000)
  assert.equal(echoed[49_999], 49)

  // Trailers: raw HTTP/1.1 so we can see them on the wire.
  const raw = await rawExchange(port, 'GET /trailers HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n')
  assert.match(raw, /^HTTP\/1\.1 200/)
  assert.match(raw, /transfer-encoding: chunked/i)
  assert.match(raw, /part1-/)
  assert.match(raw, /\r\n0\r\nx-checksum: abc123\r\n\r\n$/i)

  // 100-continue: the client waits for 100 before sending its body.
  const cont = await rawExchange(port, 'POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\nconnection: close\r\n\r\n', 500)
  assert.match(cont, /^HTTP\/1\.1 100 Continue\r\n\r\n/)
  const contFull = await (async () => {
    const { connect } = await import('node:net')
    return new Promise<string>((resolve) => {
      let out = ''
      const s = connect(port, '127.0.0.1', () => s.write('POST /echo HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\nconnection: close\r\n\r\n'))
      s.on('data', (c: Buffer) => {
        out += c.toString()
        if (out.startsWith('HTTP/1.1 100') && !out.includes('hello') && out.endsWith('\r\n\r\n') && !out.includes('200')) s.write('hello')
      })
      s.on('close', () => resolve(out))
    })
  })()
  assert.match(contFull, /HTTP\/1\.1 200 OK/)
  assert.match(contFull, /hello/)
  assert.match(contFull, /x-expect: undefined/)
})

test('bodies stream both ways without buffering (ping-pong over one request)', async (t) => {
  const b = await backend(t, 'pp', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.flushHeaders()
    req.on('data', (c: Buffer) => res.write(`echo:${c.toString()};`))
    req.on('end', () => res.end('done'))
  })
  const { port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const { request: httpRequest } = await import('node:http')
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/pp', headers: { 'transfer-encoding': 'chunked' } })
    req.on('error', reject)
    req.on('response', (res) => {
      let out = ''
      let round = 0
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        out += c
        // Each echo arrives before the next chunk is sent: nothing waits for the whole body.
        if (out.endsWith(`echo:m${round};`) && round < 4) {
          round++
          if (round < 4) req.write(`m${round}`)
          else req.end()
        }
      })
      res.on('end', () => resolve(out))
    })
    req.flushHeaders()
    req.write('m0')
  })
  assert.equal(text, 'echo:m0;echo:m1;echo:m2;echo:m3;done')
})

test('502 on connection refused, 504 on timeout, 503 with a clear body when all servers are drained', async (t) => {
  const slow = await backend(t, 'slow', (_req, res) => {
    setTimeout(() => res.end('late'), 2000).unref()
  })
  const dead = await backend(t, 'dead')
  await dead.close()
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: {
      slow: { servers: [slow.url] },
      dead: { servers: [dead.url], retry: { attempts: 0 }, outlier: { consecutiveConnectErrors: 2 } },
    },
    routes: [
      { match: { pathPrefix: '/slow' }, pool: 'slow', timeouts: { headersMs: 200 } },
      { match: { pathPrefix: '/dead' }, pool: 'dead' },
    ],
  })
  const d = agent(t)
  const r504 = await request(`${url}/slow`, { dispatcher: d })
  assert.equal(r504.statusCode, 504)
  assert.equal(r504.headers['x-switchyard-error'], 'ERR_PROXY_UPSTREAM_TIMEOUT')
  await r504.body.dump()
  const r502 = await request(`${url}/dead`, { dispatcher: d })
  assert.equal(r502.statusCode, 502)
  assert.equal(r502.headers['x-switchyard-error'], 'ERR_PROXY_UPSTREAM_CONNECT')
  await r502.body.dump()
  // The only server of a pool is never ejected (maxEjectionPercent): each attempt is a fast 502.
  const again = await request(`${url}/dead`, { dispatcher: d })
  assert.equal(again.headers['x-switchyard-error'], 'ERR_PROXY_UPSTREAM_CONNECT')
  await again.body.dump()
  // With every server drained the pool has none: a fast 503, never a hang.
  assert.ok(proxy.setDrained('dead', dead.url.slice('http://'.length), true))
  const started = Date.now()
  const r503 = await request(`${url}/dead`, { dispatcher: d })
  assert.equal(r503.statusCode, 503)
  assert.equal(r503.headers['x-switchyard-error'], 'ERR_PROXY_NO_HEALTHY_SERVER')
  assert.match(await r503.body.text(), /no healthy server in pool "dead"/)
  assert.ok(Date.now() - started < 1000)
})

test('no route gives 404; path and header rewrites apply per route', async (t) => {
  const b = await backend(t, 'a')
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { api: { servers: [b.url] } },
    routes: [
      {
        name: 'api',
        match: { host: ['api.test', '*.api.test'], pathPrefix: '/api/', methods: ['GET'], headers: { 'x-version': '/^v[12]$/' } },
        pool: 'api',
        rewrite: { stripPrefix: '/api', addPrefix: '/v2' },
        requestHeaders: { set: { 'x-route': 'api' }, remove: ['x-secret'] },
        responseHeaders: { set: { 'x-served-by': 'switchyard' }, remove: ['x-backend'] },
      },
      { name: 'regex', match: { pathRegex: '^/items/[0-9]+$' }, pool: 'api', rewrite: { regex: '^/items/([0-9]+)$', replacement: '/item?id=$1' } },
    ],
  })
  const d = agent(t)
  const r = await request(`${url}/api/users?q=1`, { dispatcher: d, headers: { host: 'eu.api.test', 'x-version': 'v2', 'x-secret': 's' } })
  assert.equal(r.statusCode, 200)
  assert.equal(r.headers['x-served-by'], 'switchyard')
  assert.equal(r.headers['x-backend'], undefined)
  const body = (await r.body.json()) as { url: string; headers: Record<string, string> }
  assert.equal(body.url, '/v2/users?q=1')
  assert.equal(body.headers['x-route'], 'api')
  assert.equal(body.headers['x-secret'], undefined)
  const wrongMethod = await request(`${url}/api/users`, { method: 'DELETE', dispatcher: d, headers: { host: 'api.test', 'x-version': 'v1' } })
  assert.equal(wrongMethod.statusCode, 404)
  assert.equal(wrongMethod.headers['x-switchyard-error'], 'ERR_PROXY_NO_ROUTE')
  await wrongMethod.body.dump()
  const wrongHeader = await request(`${url}/api/users`, { dispatcher: d, headers: { host: 'api.test', 'x-version': 'v3' } })
  assert.equal(wrongHeader.statusCode, 404)
  await wrongHeader.body.dump()
  const rx = await request(`${url}/items/42`, { dispatcher: d })
  assert.equal(((await rx.body.json()) as { url: string }).url, '/item?id=42')
})

test('trusted proxies decide whether the incoming forwarding chain is kept', async (t) => {
  const b = await backend(t, 'a')
  const d = agent(t)
  const untrusted = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const r1 = await request(untrusted.url, { dispatcher: d, headers: { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', via: '1.1 edge' } })
  const h1 = ((await r1.body.json()) as { headers: Record<string, string> }).headers
  assert.equal(h1['x-forwarded-for'], '127.0.0.1')
  assert.match(h1['forwarded'] ?? '', /^for=127\.0\.0\.1;/)
  assert.equal(h1['via'], '1.1 edge, 1.1 switchyard')
  const trusted = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, headers: { trustedProxies: ['127.0.0.0/8'], requestId: 'x-req' } })
  const r2 = await request(trusted.url, { dispatcher: d, headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7', 'x-req': 'abc-123' } })
  assert.equal(r2.headers['x-req'], 'abc-123')
  const h2 = ((await r2.body.json()) as { headers: Record<string, string> }).headers
  assert.equal(h2['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
  assert.match(h2['forwarded'] ?? '', /^for=203\.0\.113\.7, for=127\.0\.0\.1;/)
  assert.equal(h2['x-req'], 'abc-123')
})
