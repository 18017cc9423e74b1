// Bad input reaching the core with no protection plugin loaded: answered, never a crash, and the
// proxy keeps serving other clients.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { agent, backend, rawExchange, startProxy } from './_helpers.js'

test('an HTTP/2.0 request line on an HTTP/1 listener is refused without crashing the proxy', async (t) => {
  const b = await backend(t, 'a', (_req, res) => res.end('ok'))
  const { url, port, proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const answer = await rawExchange(port, 'GET / HTTP/2.0\r\nHost: example\r\n\r\n', 1500)
  assert.match(answer, /^HTTP\/1\.1 505 /, `got ${JSON.stringify(answer.slice(0, 60))}`)
  const ok = await request(`${url}/`, { dispatcher: agent(t) })
  assert.equal(ok.statusCode, 200)
  assert.equal(await ok.body.text(), 'ok')
  // Nothing left in flight: close() must not wait for a request that never finished.
  const closed = await Promise.race([proxy.close().then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))])
  assert.equal(closed, true)
})

test('requests pipelined behind a connection-closing request do not stay in flight', async (t) => {
  const paths: string[] = []
  const b = await backend(t, 'a', (req, res) => {
    paths.push(req.url ?? '')
    setTimeout(() => res.end('ok'), 50)
  })
  const { port, proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const req = 'GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
  const answer = await rawExchange(port, req + 'GET /2 HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /3 HTTP/1.1\r\nHost: x\r\n\r\n', 1500)
  // Data after "Connection: close" is a client error for Node's parser: at most the first request
  // is answered and the connection ends; nothing behind it may reach the origin.
  assert.ok((answer.match(/HTTP\/1\.1 /g)?.length ?? 0) <= 1, answer)
  assert.ok(!paths.some((p) => p === '/2' || p === '/3'), `pipelined requests reached the origin: ${paths.join(',')}`)
  const closed = await Promise.race([proxy.close().then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))])
  assert.equal(closed, true, 'close() finished: nothing left in flight')
})
