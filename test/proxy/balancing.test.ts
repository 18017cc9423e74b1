// Balancing, failover, passive ejection, active health checks, circuit breaker, sticky sessions
// and the admin API, with real backends behind the proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request, type Dispatcher } from 'undici'
import { RetryBudget } from '../../src/proxy/upstream-pool.js'
import { agent, backend, sleep, startProxy, waitFor } from './_helpers.js'

async function get(url: string, d: Dispatcher, headers: Record<string, string> = {}): Promise<{ status: number; backend: string; headers: Record<string, unknown> }> {
  const r = await request(url, { dispatcher: d, headers })
  const text = await r.body.text()
  return { status: r.statusCode, backend: String(r.headers['x-backend'] ?? text), headers: r.headers }
}

test('failover: a server killed mid-test, no client sees an error for GETs', async (t) => {
  const bs = await Promise.all(['a', 'b', 'c'].map((n) => backend(t, n)))
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: bs.map((b) => b.url), retry: { attempts: 2, minPerSec: 100 } } },
  })
  const d = agent(t)
  const seen = new Map<string, number>()
  let errors = 0
  for (let i = 0; i < 300; i++) {
    if (i === 100) await (bs[1] as (typeof bs)[number]).close()
    const batch = await Promise.all(Array.from({ length: 4 }, () => get(`${url}/x`, d)))
    for (const r of batch) {
      if (r.status !== 200) errors++
      else seen.set(r.backend, (seen.get(r.backend) ?? 0) + 1)
    }
  }
  assert.equal(errors, 0)
  assert.ok((seen.get('b') ?? 0) > 0 && (seen.get('b') ?? 0) < 200, `b served ${seen.get('b')}`)
  assert.ok((seen.get('a') ?? 0) > 400 && (seen.get('c') ?? 0) > 400)
})

test('requests with a body or a non-idempotent method are not retried; GETs are', async (t) => {
  const live = await backend(t, 'live')
  const dead = await backend(t, 'dead')
  await dead.close()
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [dead.url, live.url], outlier: { consecutiveConnectErrors: 0 }, retry: { attempts: 2, minPerSec: 100 } } },
  })
  const d = agent(t)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const r = await request(`${url}/p`, { method: 'POST', body: 'x', dispatcher: d })
    statuses.push(r.statusCode)
    await r.body.dump()
  }
  // Round robin alternates dead, live: the POSTs that hit the dead server fail with 502.
  assert.deepEqual(statuses, [502, 200, 502, 200])
  for (let i = 0; i < 4; i++) assert.equal((await get(`${url}/g`, d)).status, 200)
})

test('passive ejection with growing backoff, then recovery', async (t) => {
  let failing = true
  const a = await backend(t, 'a')
  const bad = await backend(t, 'bad', (_req, res) => {
    res.writeHead(failing ? 500 : 200, { 'x-backend': 'bad', 'content-length': 0 })
    res.end()
  })
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [a.url, bad.url], outlier: { consecutive5xx: 3, baseEjectionMs: 1500, maxEjectionMs: 20_000 } } },
  })
  const d = agent(t)
  for (let i = 0; i < 6; i++) await get(url, d)
  const server = proxy.generation.pools.get('app')?.servers[1]
  assert.equal(server?.state, 'ejected')
  assert.equal(server?.ejections, 1)
  // While ejected it gets nothing (requests are counted only inside the ejection window, so a
  // loaded machine that takes long over them cannot fail the test).
  const before = bad.hits
  const until = server?.ejectedUntil ?? 0
  for (let i = 0; i < 20 && Date.now() < until - 100; i++) assert.equal((await get(url, d)).backend, 'a')
  assert.equal(bad.hits, before)
  // After the ejection it gets traffic again; still failing, it is ejected for twice as long.
  await waitFor(() => server?.state !== 'ejected', 5000, 'first ejection to end')
  for (let i = 0; i < 8 && server?.ejections === 1; i++) await get(url, d)
  assert.equal(server?.ejections, 2)
  assert.ok((server?.ejectedUntil ?? 0) - Date.now() > 1500, 'second ejection lasts longer')
  failing = false
  await waitFor(() => server?.state === 'up', 5000, 'ejection to end')
  const c = new Map<string, number>()
  for (let i = 0; i < 20; i++) {
    const r = await get(url, d)
    c.set(r.backend, (c.get(r.backend) ?? 0) + 1)
  }
  assert.equal(c.get('bad'), 10)
})

test('active health checks: fall marks down, rise marks up', async (t) => {
  let healthy = true
  const a = await backend(t, 'a')
  const b = await backend(t, 'b', (req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(healthy ? 200 : 503, { 'content-length': 0 })
      return res.end()
    }
    res.writeHead(200, { 'x-backend': 'b', 'content-length': 0 })
    res.end()
  })
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [a.url, b.url], healthCheck: { path: '/healthz', intervalMs: 50, timeoutMs: 500, rise: 2, fall: 2 } } },
  })
  const server = proxy.generation.pools.get('app')?.servers[1]
  healthy = false
  await waitFor(() => server?.state === 'down', 3000, 'server down')
  const d = agent(t)
  for (let i = 0; i < 10; i++) assert.equal((await get(url, d)).backend, 'a')
  healthy = true
  await waitFor(() => server?.state === 'up', 3000, 'server up')
  const seen = new Set<string>()
  for (let i = 0; i < 10; i++) seen.add((await get(url, d)).backend)
  assert.deepEqual([...seen].sort(), ['a', 'b'])
})

test('circuit breaker: max concurrent + max pending per server gives a fast 503', async (t) => {
  const release: (() => void)[] = []
  const slow = await backend(t, 'slow', (_req, res) => {
    release.push(() => res.end('ok'))
  })
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [{ url: slow.url, maxConnections: 1 }], circuitBreaker: { maxConcurrent: 10, maxPending: 1 } } },
  })
  const d = agent(t, { connections: 10 })
  const pending = Array.from({ length: 2 }, () => request(url, { dispatcher: d }))
  await waitFor(() => release.length === 1, 2000, 'first request at the server')
  await sleep(50)
  const started = Date.now()
  const rejected = await request(url, { dispatcher: d })
  assert.equal(rejected.statusCode, 503)
  assert.equal(rejected.headers['x-switchyard-error'], 'ERR_PROXY_CIRCUIT_OPEN')
  await rejected.body.dump()
  assert.ok(Date.now() - started < 500)
  let served = 0
  for (let i = 0; i < 200 && served < 2; i++) {
    const f = release.shift()
    if (f !== undefined) {
      f()
      served++
    }
    await sleep(10)
  }
  for (const p of pending) {
    const r = await p
    assert.equal(r.statusCode, 200)
    await r.body.dump()
  }
})

test('sticky cookie pins a client to one server; consistent hash on a header is stable', async (t) => {
  const bs = await Promise.all(['a', 'b', 'c'].map((n) => backend(t, n)))
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: {
      sticky: { servers: bs.map((b) => b.url), sticky: { cookie: 'sy' } },
      hashed: { servers: bs.map((b) => b.url), balance: { policy: 'consistent-hash', hashOn: { source: 'header', name: 'x-user' } } },
    },
    routes: [
      { match: { pathPrefix: '/s' }, pool: 'sticky' },
      { match: { pathPrefix: '/h' }, pool: 'hashed' },
    ],
  })
  const d = agent(t)
  const first = await get(`${url}/s`, d)
  const setCookie = String(first.headers['set-cookie'])
  assert.match(setCookie, /^sy=127\.0\.0\.1%3A\d+; Path=\/; HttpOnly$/)
  const cookie = setCookie.split(';')[0] as string
  for (let i = 0; i < 10; i++) {
    const r = await get(`${url}/s`, d, { cookie })
    assert.equal(r.backend, first.backend)
    assert.equal(r.headers['set-cookie'], undefined)
  }
  const owner = new Map<string, string>()
  for (let round = 0; round < 3; round++) {
    for (let u = 0; u < 30; u++) {
      const r = await get(`${url}/h`, d, { 'x-user': `user${u}` })
      if (round === 0) owner.set(`user${u}`, r.backend)
      else assert.equal(r.backend, owner.get(`user${u}`))
    }
  }
  assert.ok(new Set(owner.values()).size === 3)
})

test('admin API: pool state, drain and enable a server at run time', async (t) => {
  const a = await backend(t, 'a')
  const b = await backend(t, 'b')
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    admin: { address: '127.0.0.1', port: 0 },
    pools: { app: { servers: [a.url, { url: b.url, id: 'b' }] } },
  })
  const admin = proxy.admin?.url ?? ''
  const d = agent(t)
  const pools = (await (await request(`${admin}/proxy/pools`, { dispatcher: d })).body.json()) as { name: string; servers: { id: string; state: string }[] }[]
  assert.equal(pools[0]?.name, 'app')
  assert.deepEqual(pools[0]?.servers.map((s) => [s.id, s.state]), [[new URL(a.url).host, 'up'], ['b', 'up']])
  const drained = await request(`${admin}/proxy/pools/app/servers/b/drain`, { method: 'POST', dispatcher: d })
  assert.equal(drained.statusCode, 200)
  assert.equal(((await drained.body.json()) as { state: string }).state, 'draining')
  for (let i = 0; i < 6; i++) assert.equal((await get(url, d)).backend, 'a')
  await (await request(`${admin}/proxy/pools/app/servers/b/enable`, { method: 'POST', dispatcher: d })).body.dump()
  const seen = new Set<string>()
  for (let i = 0; i < 6; i++) seen.add((await get(url, d)).backend)
  assert.deepEqual([...seen].sort(), ['a', 'b'])
  const missing = await request(`${admin}/proxy/pools/app/servers/zz/drain`, { method: 'POST', dispatcher: d })
  assert.equal(missing.statusCode, 404)
  assert.equal(((await missing.body.json()) as { code: string }).code, 'ERR_PROXY_ADMIN_UNKNOWN_SERVER')
  const metrics = await (await request(`${admin}/metrics`, { dispatcher: d })).body.text()
  assert.match(metrics, /switchyard_proxy_requests_total\{route="default",class="2xx"\} 12/)
  assert.match(metrics, /switchyard_proxy_upstream_responses_total\{pool="app",server="b",class="2xx"\} 3/)
  assert.match(metrics, /switchyard_proxy_upstream_up\{pool="app",server="b",state="up"\} 1/)
  assert.match(metrics, /switchyard_proxy_client_connections\{listener="http:0"\} [1-9]/)
  assert.match(metrics, /switchyard_proxy_request_duration_seconds_bucket\{le="0.1",route="default"\} 12/)
})

test('retry budget: max(minPerSec, percent of requests) per sliding second', () => {
  const b = new RetryBudget(10, 1)
  const now = 10_000
  for (let i = 0; i < 100; i++) b.onRequest(now)
  let granted = 0
  for (let i = 0; i < 50; i++) if (b.tryRetry(now)) granted++
  assert.equal(granted, 10)
  // Two seconds later the window is empty: only the floor (2 x minPerSec over the two windows).
  let later = 0
  for (let i = 0; i < 50; i++) if (b.tryRetry(now + 2500)) later++
  assert.equal(later, 2)
})
