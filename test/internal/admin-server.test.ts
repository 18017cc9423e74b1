import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startAdminServer } from '../../src/internal/admin-server.js'
import { createMetricsRegistry, Counter } from '../../src/internal/metrics.js'
import { SwitchyardError } from '../../src/internal/errors.js'

// Minimal Prometheus text-format parser: every non-comment line must be `name{labels} value`.
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# ')) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( \d+)?$/.exec(line)
    assert.ok(m, `not Prometheus text: ${line}`)
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]))
  }
  return out
}

test('admin server: /healthz, /metrics, JSON routes, 404', async (t) => {
  const registry = createMetricsRegistry()
  const hits = new Counter({ name: 'test_hits_total', help: 'hits', labelNames: ['route'], registers: [registry] })
  hits.inc({ route: 'a' }, 3)
  const admin = await startAdminServer({ registry })
  t.after(() => admin.close())
  admin.json('/status', () => ({ up: true }))
  admin.json('/items/*', (_req, url) => ({ item: url.pathname.slice('/items/'.length) }))

  const health = await fetch(`${admin.url}/healthz`)
  assert.equal(health.status, 200)
  assert.equal(((await health.json()) as { status: string }).status, 'ok')

  const metrics = await fetch(`${admin.url}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/)
  const parsed = parsePrometheus(await metrics.text())
  assert.equal(parsed.get('test_hits_total{route="a"}'), 3)
  assert.ok([...parsed.keys()].some((k) => k.startsWith('switchyard_process_cpu')), 'process metrics present')

  assert.deepEqual(await (await fetch(`${admin.url}/status`)).json(), { up: true })
  assert.deepEqual(await (await fetch(`${admin.url}/items/42`)).json(), { item: '42' })

  const missing = await fetch(`${admin.url}/nope`)
  assert.equal(missing.status, 404)
  await missing.arrayBuffer()
})

test('admin server: a failing health check gives 503, a throwing route gives 500', async (t) => {
  const admin = await startAdminServer({ health: { db: () => ({ ok: false, detail: 'down' }) } })
  t.after(() => admin.close())
  admin.json('/boom', () => {
    throw new Error('kaput')
  })
  const h = await fetch(`${admin.url}/healthz`)
  assert.equal(h.status, 503)
  assert.deepEqual(await h.json(), { status: 'unhealthy', checks: { db: { ok: false, detail: 'down' } } })
  const b = await fetch(`${admin.url}/boom`)
  assert.equal(b.status, 500)
  assert.deepEqual(await b.json(), { error: 'kaput' })
  // Still serving after the failure.
  assert.equal((await fetch(`${admin.url}/healthz`)).status, 503)
  assert.equal((await fetch(`${admin.url}/metrics`)).status, 404, 'no registry, no /metrics')
})

test('admin server: registering a route twice is a typed error', async (t) => {
  const admin = await startAdminServer()
  t.after(() => admin.close())
  admin.json('/x', () => 1)
  assert.throws(
    () => admin.json('/x', () => 2),
    (err: unknown) => err instanceof SwitchyardError && err.code === 'ERR_ADMIN_ROUTE_EXISTS',
  )
})
