// Issue 22 items 7 and 10: a client's Connection listing cannot strip Host or a header the proxy
// routes / keys on (and is ignored on cached routes); header names with `_` are dropped unless
// headers.underscoresInHeaders.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { request } from 'undici'
import { agent, backend, rawExchange, startProxy } from './_helpers.js'

async function echoHeaders(t: import('node:test').TestContext) {
  return backend(t, 'echo', (req, res) => {
    const body = JSON.stringify(req.headers)
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}

test('Connection: host (and routing headers) never strips them; other listed names still go', async (t) => {
  const b = await echoHeaders(t)
  const c = await echoHeaders(t)
  const { port } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { main: { servers: [b.url] }, canary: { servers: [c.url] }, cached: { servers: [b.url] } },
    routes: [
      { match: { headers: { 'x-canary': '1' } }, pool: 'canary' },
      { match: { pathPrefix: '/cached' }, pool: 'cached', cache: true },
      { pool: 'main' },
    ],
  })
  // Raw bytes: undici refuses a Connection header other than keep-alive/close.
  const get = async (path: string, headers: Record<string, string>): Promise<IncomingHttpHeaders> => {
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    const text = await rawExchange(port, `GET ${path} HTTP/1.1\r\n${head}\r\n`, 3000)
    assert.match(text, /^HTTP\/1\.1 200 /, text)
    return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as IncomingHttpHeaders
  }
  const h = await get('/x', { host: 'app.test', connection: 'close, host, x-canary, x-request-id, x-drop-me', 'x-canary': '1', 'x-drop-me': 'y' })
  assert.equal(h.host, 'app.test')
  assert.equal(h['x-canary'], '1', 'a header a route matched on reaches the origin')
  assert.equal(h['x-drop-me'], undefined, 'other listed names are still hop-by-hop')
  assert.equal(h['x-forwarded-host'], 'app.test')
  // On a cached route any request header may be in the key (Vary): listings are ignored there.
  const cached = await get('/cached', { host: 'app.test', connection: 'close, accept-language', 'accept-language': 'fr' })
  assert.equal(cached['accept-language'], 'fr')
  assert.equal(cached.host, 'app.test')
})

test('header names with underscores are dropped by default, forwarded with underscoresInHeaders', async (t) => {
  const b = await echoHeaders(t)
  for (const underscoresInHeaders of [false, true]) {
    const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, headers: { underscoresInHeaders } })
    const r = await request(`${url}/`, { dispatcher: agent(t), headers: { X_Forwarded_For: '6.6.6.6', X_Forwarded_Proto: 'https', 'x-ok': '1' } })
    const h = (await r.body.json()) as IncomingHttpHeaders
    assert.equal(h['x-ok'], '1')
    assert.equal(h['x_forwarded_for'], underscoresInHeaders ? '6.6.6.6' : undefined, `underscoresInHeaders=${underscoresInHeaders}`)
    assert.equal(h['x_forwarded_proto'], underscoresInHeaders ? 'https' : undefined)
  }
})
