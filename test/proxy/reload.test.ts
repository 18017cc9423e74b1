// Hot reload: new requests use the new config, in-flight requests finish on the old one, a bad
// config is refused with its error while the old one keeps serving; file changes are noticed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { ConfigWatcher, loadProxyConfig, resolveProxyConfig } from '../../src/proxy/index.js'
import { agent, backend, startProxy, waitFor } from './_helpers.js'

test('reload: in-flight requests finish on the old pool, new ones use the new pool', async (t) => {
  const release: (() => void)[] = []
  const oldB = await backend(t, 'old', (_req, res) => {
    res.writeHead(200, { 'x-backend': 'old' })
    res.write('start-')
    release.push(() => res.end('end'))
  })
  const newB = await backend(t, 'new')
  const input = { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [oldB.url] } } }
  const { proxy, url } = await startProxy(t, input)
  const d = agent(t)
  const inflight = Array.from({ length: 5 }, () => request(url, { dispatcher: d }))
  await waitFor(() => release.length === 5, 3000, 'requests at the old backend')
  const oldGen = proxy.generation
  await proxy.reload(resolveProxyConfig({ accessLog: { enabled: false }, ...input, pools: { app: { servers: [newB.url] } } }))
  assert.notEqual(proxy.generation, oldGen)
  assert.equal(oldGen.inflight, 5)
  const fresh = await request(url, { dispatcher: d })
  assert.equal(fresh.headers['x-backend'], 'new')
  await fresh.body.dump()
  for (const f of release) f()
  for (const p of inflight) {
    const r = await p
    assert.equal(r.statusCode, 200)
    assert.equal(await r.body.text(), 'start-end')
  }
  await waitFor(() => oldGen.inflight === 0, 2000, 'old generation to drain')
})

test('a bad config is refused at reload and the old one keeps serving; file changes trigger reload', async (t) => {
  const a = await backend(t, 'a')
  const b = await backend(t, 'b')
  const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'))
  const file = join(dir, 'proxy.yaml')
  const yaml = (server: string) => `listeners:\n  - port: 0\n    address: 127.0.0.1\npools:\n  app:\n    servers: [${server}]\naccessLog:\n  enabled: false\n`
  writeFileSync(file, yaml(a.url))
  const { proxy, url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [a.url] } } }, { config: loadProxyConfig(file) })
  const d = agent(t)
  const errors: string[] = []
  const watcher = new ConfigWatcher(() => {
    try {
      void proxy.reload(loadProxyConfig(file)).catch((e: Error) => errors.push(e.message))
    } catch (e) {
      errors.push(`${(e as { code?: string }).code}: ${(e as Error).message}`)
    }
  }, 50)
  watcher.watch([file])
  t.after(() => watcher.close())

  writeFileSync(file, yaml(a.url).replace('pools:', 'pools:\n  broken: 1'))
  await waitFor(() => errors.length === 1, 3000, 'the bad config to be refused')
  assert.match(errors[0] ?? '', /^ERR_CONFIG_INVALID: proxy\.yaml:5:11 pools\.broken: expected object/)
  const still = await request(url, { dispatcher: d })
  assert.equal(still.headers['x-backend'], 'a')
  await still.body.dump()

  const before = proxy.generation
  writeFileSync(file, yaml(b.url))
  await waitFor(() => proxy.generation !== before, 3000, 'the good config to be applied')
  const now = await request(url, { dispatcher: d })
  assert.equal(now.headers['x-backend'], 'b')
  await now.body.dump()
})

test('JSON access log has the combined fields plus upstream address and times', async (t) => {
  const a = await backend(t, 'a')
  const out = new PassThrough()
  const lines: string[] = []
  out.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)))
  const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [a.url] } }, routes: [{ name: 'main', pool: 'app' }], accessLog: { enabled: true } }, { accessLogStream: out })
  const d = agent(t)
  const r = await request(`${url}/page?x=1`, { dispatcher: d, headers: { 'user-agent': 'ua/1', referer: 'http://ref.test/' } })
  await r.body.dump()
  await waitFor(() => lines.length === 1, 2000, 'an access log line')
  const rec = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
  assert.equal(rec['request'], 'GET /page?x=1 HTTP/1.1')
  assert.equal(rec['status'], 200)
  assert.equal(rec['remote_addr'], '127.0.0.1')
  assert.equal(rec['http_user_agent'], 'ua/1')
  assert.equal(rec['http_referer'], 'http://ref.test/')
  assert.equal(rec['route'], 'main')
  assert.equal(rec['pool'], 'app')
  assert.equal(rec['upstream_addr'], new URL(a.url).host)
  assert.equal(rec['upstream_status'], 200)
  assert.equal(rec['request_id'], r.headers['x-request-id'])
  assert.ok(typeof rec['body_bytes_sent'] === 'number' && rec['body_bytes_sent'] > 0)
  assert.ok(typeof rec['upstream_time'] === 'number' && typeof rec['request_time'] === 'number')
  assert.ok((rec['request_time'] as number) >= (rec['upstream_time'] as number))
})
