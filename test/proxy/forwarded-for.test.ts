// RFC 7239 `Forwarded: for=` from a trusted proxy sets the client address, as documented, when no
// X-Forwarded-For is sent; from an untrusted peer it is ignored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import type { ProxyPlugin } from '../../src/proxy/plugin-api.js'
import { forwardedForList } from '../../src/proxy/forwarding-headers.js'
import { agent, backend, startProxy } from './_helpers.js'

test('forwardedForList: quotes, brackets and ports go; every for= node is kept in order', () => {
  assert.equal(forwardedForList('for=192.0.2.60;proto=http;by=203.0.113.43'), '192.0.2.60')
  assert.equal(forwardedForList('for="[2001:db8:cafe::17]:4711", for=198.51.100.17:80;proto=https'), '2001:db8:cafe::17,198.51.100.17')
  assert.equal(forwardedForList('For=unknown, for=_hidden'), 'unknown,_hidden')
  assert.equal(forwardedForList('proto=https'), undefined)
})

for (const trusted of [true, false]) {
  test(`Forwarded: for= is ${trusted ? 'honoured from a trusted proxy' : 'ignored from an untrusted peer'}`, async (t) => {
    const seen: string[] = []
    const spy: ProxyPlugin = { name: 'spy', create: () => ({ onRequest: (ctx) => void seen.push(ctx.clientIp) }) }
    const b = await backend(t, 'app')
    const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, headers: { trustedProxies: trusted ? ['127.0.0.1'] : ['10.0.0.0/8'] } }, { plugins: [spy] })
    const d = agent(t)
    for (const forwarded of ['for=203.0.113.9;proto=https', 'for="[2001:db8::1]:443"', 'for=198.51.100.1, for=127.0.0.1']) {
      const r = await request(`${url}/`, { dispatcher: d, headers: { forwarded } })
      await r.body.text()
    }
    assert.deepEqual(seen, trusted ? ['203.0.113.9', '2001:db8::1', '198.51.100.1'] : ['127.0.0.1', '127.0.0.1', '127.0.0.1'])
  })
}
