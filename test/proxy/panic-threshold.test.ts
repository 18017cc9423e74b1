// Passive ejection never turns a pool into a blackhole (issue #15 §2): maxEjectionPercent keeps at
// least one server in, the panic threshold balances over every non-drained server when too few are
// up, a failing single origin's answers are relayed unchanged, flapping pools make no 503s of their
// own, and statuses outside 100-599 are a 502 on both upstream clients without touching health.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { agent, backend, startProxy, waitFor, type Backend } from './_helpers.js'

interface Tally {
  /** status -> count of answers relayed from an origin. */
  relayed: Map<number, number>
  /** x-switchyard-error code -> count of answers the proxy made itself. */
  own: Map<string, number>
}

async function hammer(t: TestContext, url: string, n: number, method: 'GET' | 'POST' = 'GET'): Promise<Tally> {
  const d = agent(t)
  const tally: Tally = { relayed: new Map(), own: new Map() }
  for (let i = 0; i < n; i++) {
    const r = await request(`${url}/x${i}`, { dispatcher: d, method, ...(method === 'POST' ? { body: 'payload' } : {}) })
    await r.body.dump()
    const code = r.headers['x-switchyard-error'] as string | undefined
    if (code === undefined) tally.relayed.set(r.statusCode, (tally.relayed.get(r.statusCode) ?? 0) + 1)
    else tally.own.set(code, (tally.own.get(code) ?? 0) + 1)
  }
  return tally
}

const failing = (t: TestContext, name: string, status: number): Promise<Backend> =>
  backend(t, name, (_req, res) => {
    res.writeHead(status, { 'content-length': 4, 'x-backend': name })
    res.end('fail')
  })

test('1 server answering 5xx: every answer is relayed unchanged, never a 503 of our own', async (t) => {
  for (const status of [503, 500, 599]) {
    const only = await failing(t, `only${status}`, status)
    const { url, proxy } = await startProxy(t, {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [only.url], outlier: { consecutive5xx: 2, baseEjectionMs: 10_000 } } },
    })
    const tally = await hammer(t, url, 20)
    assert.deepEqual([...tally.own], [], `status ${status}`)
    assert.deepEqual([...tally.relayed], [[status, 20]])
    assert.equal(only.hits, 20)
    assert.equal(proxy.generation.pools.get('app')?.servers[0]?.state, 'up')
  }
})

test('1 server refusing connections: 502 from each attempt, never ejected into a 503 blackhole', async (t) => {
  const dead = await backend(t, 'dead')
  await dead.close()
  const { url } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [dead.url], retry: { attempts: 0 }, outlier: { consecutiveConnectErrors: 1 } } },
  })
  const tally = await hammer(t, url, 10)
  assert.deepEqual([...tally.own], [['ERR_PROXY_UPSTREAM_CONNECT', 10]])
})

test('2 servers, both failing: at most one ejected, the other keeps relaying', async (t) => {
  const a = await failing(t, 'a', 503)
  const b = await failing(t, 'b', 503)
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: [a.url, b.url], outlier: { consecutive5xx: 2, baseEjectionMs: 10_000 } } },
  })
  const tally = await hammer(t, url, 30)
  assert.deepEqual([...tally.own], [])
  assert.deepEqual([...tally.relayed], [[503, 30]])
  const states = proxy.generation.pools.get('app')?.servers.map((s) => s.state) ?? []
  assert.equal(states.filter((s) => s === 'ejected').length, 1, states.join(','))
})

test('5 flapping servers: no more self-made 503s than the origins\' own failures (none), at most 2 ejected', async (t) => {
  let n = 0
  const servers: Backend[] = []
  for (let i = 0; i < 5; i++) {
    servers.push(
      await backend(t, `s${i}`, (_req, res) => {
        // Bursts of failures long enough to eject, then recovery, on every server.
        const fail = Math.floor(n++ / 7) % 2 === 0
        res.writeHead(fail ? 502 : 200, { 'content-length': 0 })
        res.end()
      }),
    )
  }
  const { url, proxy } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1' }],
    pools: { app: { servers: servers.map((s) => s.url), outlier: { consecutive5xx: 2, baseEjectionMs: 50, maxEjectionMs: 200 } } },
  })
  const pool = proxy.generation.pools.get('app')
  let maxEjected = 0
  const d = agent(t)
  let own = 0
  let originFailures = 0
  for (let i = 0; i < 150; i++) {
    const r = await request(`${url}/f${i}`, { dispatcher: d })
    await r.body.dump()
    if (r.headers['x-switchyard-error'] !== undefined) own++
    else if (r.statusCode >= 500) originFailures++
    maxEjected = Math.max(maxEjected, pool?.servers.filter((s) => s.state === 'ejected').length ?? 0)
  }
  assert.equal(own, 0)
  assert.ok(originFailures > 0, 'the origins did fail')
  assert.ok(maxEjected >= 1 && maxEjected <= 2, `ejected at once: ${maxEjected}`)
})

test('panic threshold: 3 of 5 down (40% up) balances over all five; counted in a metric; 0 turns it off', async (t) => {
  for (const threshold of [50, 0]) {
    const healthy = new Set(['s0', 's1'])
    const servers: Backend[] = []
    const served = [0, 0, 0, 0, 0]
    for (let i = 0; i < 5; i++) {
      const name = `s${i}`
      servers.push(
        await backend(t, name, (req, res) => {
          if (req.url !== '/healthz') served[i] = (served[i] ?? 0) + 1
          res.writeHead(req.url === '/healthz' && !healthy.has(name) ? 503 : 200, { 'content-length': 0, 'x-backend': name })
          res.end()
        }),
      )
    }
    const { url, proxy } = await startProxy(t, {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: {
        app: { servers: servers.map((s) => s.url), panicThresholdPercent: threshold, healthCheck: { path: '/healthz', intervalMs: 50, timeoutMs: 500, rise: 1, fall: 1 } },
      },
    })
    const pool = proxy.generation.pools.get('app')
    await waitFor(() => pool?.availableCount() === 2, 3000, 'three servers down')
    const tally = await hammer(t, url, 25)
    assert.deepEqual([...tally.own], [])
    const got = served.map((h) => h > 0)
    const metric = (await proxy.registry.getSingleMetric('switchyard_proxy_pool_panic_total')?.get())?.values.find((v) => v.labels.pool === 'app')?.value ?? 0
    if (threshold === 50) {
      assert.deepEqual(got, [true, true, true, true, true], 'panic spreads over every server')
      assert.ok(metric >= 25, `panic metric ${metric}`)
      assert.equal(pool?.panic, true)
    } else {
      assert.deepEqual(got, [true, true, false, false, false], 'no panic: only the healthy ones')
    }
    await proxy.close()
  }
})

test('a pool whose servers are all drained answers 503 ERR_PROXY_NO_HEALTHY_SERVER (drained stays out, even in panic)', async (t) => {
  const a = await backend(t, 'a')
  const { url, proxy } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [a.url] } } })
  proxy.setDrained('app', a.url.slice('http://'.length), true)
  const tally = await hammer(t, url, 3)
  assert.deepEqual([...tally.own], [['ERR_PROXY_NO_HEALTHY_SERVER', 3]])
  assert.equal(a.hits, 0)
})

test('statuses outside 100-599: 502 ERR_PROXY_UPSTREAM_STATUS on both upstream clients, no ejection, no crash', async (t) => {
  for (const status of [600, 999]) {
    const odd = await failing(t, `odd${status}`, status)
    const ok = await backend(t, `ok${status}`)
    const { url, proxy } = await startProxy(t, {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [odd.url, ok.url], balance: 'round-robin', outlier: { consecutive5xx: 1 } } },
    })
    // GET goes over the raw fast client, POST (a body) over undici.
    for (const method of ['GET', 'POST'] as const) {
      const tally = await hammer(t, url, 10, method)
      assert.deepEqual([...tally.own], [['ERR_PROXY_UPSTREAM_STATUS', 5]], `${status} ${method}`)
      assert.deepEqual([...tally.relayed], [[200, 5]], `${status} ${method}`)
    }
    assert.equal(proxy.generation.pools.get('app')?.servers[0]?.state, 'up', 'an odd status does not eject')
    assert.equal(odd.hits, 10)
  }
})

test('status lines below 100 or past 999 (000, 099, 10, 1000): 502 ERR_PROXY_UPSTREAM_PROTOCOL on both upstream clients, no ejection', async (t) => {
  const { createServer } = await import('node:net')
  for (const line of ['HTTP/1.1 000 Zero', 'HTTP/1.1 099 Low', 'HTTP/1.1 10 Short', 'HTTP/1.1 1000 Long']) {
    // node:http refuses to write these statuses; a raw origin answers every request with one.
    let hits = 0
    const raw = createServer((s) => {
      s.on('data', () => {
        hits++
        s.write(`${line}\r\nContent-Length: 2\r\n\r\nok`)
      })
      s.on('error', () => {})
    })
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r))
    t.after(() => new Promise<void>((r) => raw.close(() => r())))
    const { url, proxy } = await startProxy(t, {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [`http://127.0.0.1:${(raw.address() as import('node:net').AddressInfo).port}`], retry: { attempts: 0 }, outlier: { consecutive5xx: 1, consecutiveConnectErrors: 1 } } },
    })
    for (const method of ['GET', 'POST'] as const) {
      const tally = await hammer(t, url, 4, method)
      assert.deepEqual([...tally.own], [['ERR_PROXY_UPSTREAM_PROTOCOL', 4]], `${line} ${method}`)
      assert.deepEqual([...tally.relayed], [], `${line} ${method}`)
    }
    assert.equal(hits, 8, `${line}: every request reached the origin (no ejection in between)`)
    assert.equal(proxy.generation.pools.get('app')?.servers[0]?.state, 'up', `${line} does not eject`)
    await waitFor(() => proxy.generation.inflight === 0, 3000, 'in flight back to 0')
    await proxy.close()
  }
})
