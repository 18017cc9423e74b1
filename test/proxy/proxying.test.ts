import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { agent, backend, rawExchange, startProxy } from './_helpers.js'

test('5-line config proxies GET and POST with forwarding headers', async (t) => {
  const b = await backend(t, 'a')
  const { url, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const d = agent(t)
  const raw = await rawExchange(port, 'GET /hop HTTP/1.1\r\nhost: a.test\r\nconnection: close, x-drop\r\nx-drop: 1\r\nkeep-alive: 5\r\nproxy-authorization: x\r\nte: trailers\r\nx-keep: 2\r\n\r\n')
  const hopBody = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }
  assert.equal(hopBody.headers['x-keep'], '2')
  for (const h of ['x-drop', 'keep-alive', 'proxy-authorization', 'te']) assert.equal(hopBody.headers[h], undefined, h)
  assert.equal(hopBody.headers['host'], 'a.test')
  assert.equal(hopBody.headers['x-forwarded-host'], 'a.test')
  const r = await request(`${url}/hello?x=1`, { dispatcher: d, headers: { 'x-keep': '2' } })
  assert.equal(r.statusCode, 200)
  const body = (await r.body.json()) as { url: string; headers: Record<string, string> }
  assert.equal(body.url, '/hello?x=1')
  assert.equal(body.headers['x-keep'], '2')
  assert.equal(body.headers['x-forwarded-for'], '127.0.0.1')
  assert.equal(body.headers['x-forwarded-proto'], 'http')
  assert.match(body.headers['forwarded'] ?? '', /^for=127\.0\.0\.1;host="127\.0\.0\.1:\d+";proto=http$/)
  assert.equal(body.headers['via'], '1.1 switchyard')
  assert.match(body.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/)
  assert.equal(r.headers['x-request-id'], body.headers['x-request-id'])
})
