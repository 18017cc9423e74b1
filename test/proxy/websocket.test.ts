// WebSocket (Upgrade) proxying with the `ws` package: echo, subprotocols, extensions, binary
// frames, close codes; and open WebSockets survive a config reload.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
import { resolveProxyConfig } from '../../src/proxy/index.js'
import { rawExchange, startProxy } from './_helpers.js'

async function wsBackend(t: import('node:test').TestContext): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true, handleProtocols: (p) => (p.has('chat.v2') ? 'chat.v2' : false) })
  await once(wss, 'listening')
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ hello: true, xff: req.headers['x-forwarded-for'], path: req.url }))
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close-me') return ws.close(4001, 'asked to')
      ws.send(data, { binary: isBinary })
    })
  })
  t.after(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate()
    wss.close(() => r())
  }))
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss }
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }))
    ws.once('error', reject)
  })
}

test('WebSocket echo through the proxy: subprotocol, deflate extension, binary frames, close code', async (t) => {
  const be = await wsBackend(t)
  const { port } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { ws: { servers: [be.url] } },
    routes: [{ match: { pathPrefix: '/ws' }, pool: 'ws', rewrite: { stripPrefix: '/ws' } }],
  })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/room`, ['chat.v2'], { perMessageDeflate: true })
  const hello = nextMessage(ws)
  await once(ws, 'open')
  assert.equal(ws.protocol, 'chat.v2')
  assert.match(ws.extensions, /permessage-deflate/)
  const h = JSON.parse((await hello).data.toString()) as { xff: string; path: string }
  assert.equal(h.xff, '127.0.0.1')
  assert.equal(h.path, '/room')
  const bin = Buffer.from([0, 1, 2, 255, 254])
  ws.send(bin)
  const echoed = await nextMessage(ws)
  assert.equal(echoed.isBinary, true)
  assert.deepEqual(echoed.data, bin)
  ws.send('x'.repeat(100_000))
  assert.equal((await nextMessage(ws)).data.length, 100_000)
  ws.send('close-me')
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer]
  assert.equal(code, 4001)
  assert.equal(reason.toString(), 'asked to')
})

test('a refused upgrade is relayed; no route gives 404', async (t) => {
  const be = await wsBackend(t)
  const { port } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { ws: { servers: [be.url] } },
    routes: [{ match: { pathPrefix: '/ws' }, pool: 'ws' }],
  })
  const ws = new WebSocket(`ws://127.0.0.1:${port}/nope`)
  ws.on('error', () => {})
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage]
  assert.equal(res.statusCode, 404)
  ws.terminate()
  // The backend refuses an unsupported version: its answer reaches the client unchanged.
  const raw = await rawExchange(port, 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 7\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  assert.match(raw, /^HTTP\/1\.1 400 /)
  assert.match(raw, /connection: close/i)
})

test('open WebSockets survive a config reload', async (t) => {
  const be = await wsBackend(t)
  const other = await wsBackend(t)
  const input = {
    accessLog: { enabled: false },
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { ws: { servers: [be.url] } },
  }
  const { proxy, port } = await startProxy(t, input)
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
  const hello = nextMessage(ws)
  await once(ws, 'open')
  await hello
  await proxy.reload(resolveProxyConfig({ ...input, pools: { ws: { servers: [other.url] } } }))
  await new Promise((r) => setTimeout(r, 100))
  ws.send('still here')
  assert.equal((await nextMessage(ws)).data.toString(), 'still here')
  assert.equal(proxy.upgrades.size, 1)
  // New connections use the new config.
  const ws2 = new WebSocket(`ws://127.0.0.1:${port}/`)
  const hello2 = nextMessage(ws2)
  await once(ws2, 'open')
  await hello2
  assert.equal(other.wss.clients.size, 1)
  assert.equal(be.wss.clients.size, 1)
  ws.close()
  ws2.close()
  await Promise.all([once(ws, 'close'), once(ws2, 'close')])
})
