// When an origin closes the connection without answering and there is no other server to retry on,
// the client gets that failure (502 ERR_PROXY_UPSTREAM_RESET), not a self-made 503 "no healthy
// server" for a pool whose servers are all up; with a second server the retry goes there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import type { ProxyConfigInput } from '../../src/proxy/index.js'
import { backend, startProxy } from './_helpers.js'

async function slammer(t: import('node:test').TestContext): Promise<string> {
  const s = createServer((req) => req.socket.destroy())
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    s.close(() => r())
    s.closeAllConnections()
  }))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

for (const fast of [true, false]) {
  test(`an origin that closes without answering gives 502, and a second server takes the retry (${fast ? 'fast path' : 'node:http'})`, async (t) => {
    const bad = await slammer(t)
    const one = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [bad] } }, fastPath: { client: fast } } as ProxyConfigInput)
    for (let i = 0; i < 3; i++) {
      const r = await request(`${one.url}/x`)
      await r.body.dump()
      assert.deepEqual([r.statusCode, r.headers['x-switchyard-error']], [502, 'ERR_PROXY_UPSTREAM_RESET'], `request ${i}`)
    }
    const good = await backend(t, 'good')
    const two = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [bad, good.url], balance: 'round-robin' } }, fastPath: { client: fast } } as ProxyConfigInput)
    for (let i = 0; i < 4; i++) {
      const r = await request(`${two.url}/x`)
      await r.body.dump()
      assert.equal(r.statusCode, 200, `request ${i} is retried on the good server`)
    }
  })
}
