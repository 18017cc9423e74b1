// An Upgrade request on a caching route is never answered from the cache: a stored 200 for the same
// URL must not stand in for the origin's 101 (nor may a 101 exchange be stored).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { builtinPlugins, type ProxyConfigInput } from '../../../src/proxy/index.js'
import { rawExchange, startProxy } from '../_helpers.js'

test('cache: an Upgrade request reaches the origin even when a fresh 200 for its URL is stored', async (t) => {
  let upgrades = 0
  const origin = createServer((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain' })
    res.end('plain')
  })
  origin.on('upgrade', (_req, socket) => {
    upgrades++
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  })
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    origin.close(() => r())
    origin.closeAllConnections()
  }))
  const { port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [`http://127.0.0.1:${(origin.address() as AddressInfo).port}`] } },
      routes: [{ pool: 'app', cache: true }],
      cache: {},
    } as ProxyConfigInput,
    { plugins: builtinPlugins },
  )
  const plain = 'GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n'
  assert.match(await rawExchange(port, plain), /^HTTP\/1\.1 200 [^]*x-cache: MISS/i)
  assert.match(await rawExchange(port, plain), /^HTTP\/1\.1 200 [^]*x-cache: HIT/i)
  const up = 'GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
  const answer = await rawExchange(port, up)
  assert.match(answer, /^HTTP\/1\.1 101 /, answer.slice(0, 200))
  assert.equal(upgrades, 1)
})
