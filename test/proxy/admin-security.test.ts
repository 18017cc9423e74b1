// The proxy's admin API: Host / Origin checks (CSRF, DNS rebinding), the optional bearer token,
// and no binding beyond loopback without a token.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { ProxyServer, resolveProxyConfig } from '../../src/proxy/index.js'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { silentLogger } from '../../src/internal/logger.js'
import { backend, startProxy } from './_helpers.js'

async function call(url: string, method: 'GET' | 'POST', headers: Record<string, string> = {}): Promise<{ status: number; code: string | undefined }> {
  const r = await request(url, { method, headers })
  const body = (await r.body.json().catch(() => ({}))) as { code?: string }
  return { status: r.statusCode, code: body.code }
}

test('admin API: foreign Host or Origin is 403; the token is required when set; /healthz stays open', async (t) => {
  const b = await backend(t, 'a')
  const { proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, admin: { port: 0 } })
  const admin = proxy.admin?.url as string
  const drain = `${admin}/proxy/pools/app/servers/${proxy.generation.pools.get('app')?.servers[0]?.id}/drain`
  assert.deepEqual(await call(drain, 'POST', { host: 'evil.example' }), { status: 403, code: 'ERR_ADMIN_FORBIDDEN' })
  assert.deepEqual(await call(drain, 'POST', { origin: 'http://evil.example' }), { status: 403, code: 'ERR_ADMIN_FORBIDDEN' })
  assert.equal(proxy.generation.pools.get('app')?.servers[0]?.drained, false, 'nothing was drained')
  assert.equal((await call(`${admin}/proxy/status`, 'GET')).status, 200)
  assert.equal((await call(`${admin}/proxy/status`, 'GET', { origin: admin })).status, 200, 'same-origin dashboard calls work')

  const token = 'secret-token-0123456789'
  const { proxy: p2 } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, admin: { port: 0, token } })
  const a2 = p2.admin?.url as string
  assert.deepEqual(await call(`${a2}/proxy/status`, 'GET'), { status: 401, code: 'ERR_ADMIN_UNAUTHORIZED' })
  assert.deepEqual(await call(`${a2}/proxy/status`, 'GET', { authorization: 'Bearer wrong-token-0123456789' }), { status: 401, code: 'ERR_ADMIN_UNAUTHORIZED' })
  assert.equal((await call(`${a2}/proxy/status`, 'GET', { authorization: `Bearer ${token}` })).status, 200)
  assert.equal((await call(`${a2}/healthz`, 'GET')).status, 200)
})

test("the issue's endpoints (cache purge, drain, enable) refuse a foreign Host or Origin; no token is warned about", async (t) => {
  const b = await backend(t, 'a')
  const warnings: string[] = []
  const base = silentLogger()
  const logger = Object.assign(Object.create(base) as typeof base, { warn: (_o: unknown, msg?: string) => void warnings.push(msg ?? '') })
  const { proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, routes: [{ pool: 'app', cache: true }], cache: {}, admin: { port: 0 } }, { plugins: builtinPlugins, logger })
  assert.ok(warnings.some((w) => /no token/.test(w)), `warned: ${JSON.stringify(warnings)}`)
  const admin = proxy.admin?.url as string
  const server = proxy.generation.pools.get('app')?.servers[0]
  const endpoints = [`${admin}/proxy/cache/purge?prefix=http://app.test/`, `${admin}/proxy/pools/app/servers/${server?.id}/drain`, `${admin}/proxy/pools/app/servers/${server?.id}/enable`]
  for (const url of endpoints) {
    for (const headers of [{ host: 'evil.example' }, { origin: 'http://evil.example' }, { origin: 'null' }, { host: `evil.example:${new URL(admin).port}` }]) {
      assert.deepEqual(await call(url, 'POST', headers), { status: 403, code: 'ERR_ADMIN_FORBIDDEN' }, `${url} ${JSON.stringify(headers)}`)
    }
  }
  assert.equal(server?.drained, false, 'nothing was drained')
  // The same calls from the admin's own origin work (the checks are not refusing everything).
  for (const url of endpoints) assert.equal((await call(url, 'POST', { origin: admin })).status, 200, url)
})

test('admin API beyond loopback without a token is refused at start', async () => {
  const proxy = new ProxyServer({ config: resolveProxyConfig({ accessLog: { enabled: false }, listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: ['http://127.0.0.1:9'] } }, admin: { address: '0.0.0.0', port: 0 } }), plugins: [] })
  await assert.rejects(proxy.start(), (e: Error & { code?: string }) => e.code === 'ERR_ADMIN_INSECURE')
  await proxy.close()
})
