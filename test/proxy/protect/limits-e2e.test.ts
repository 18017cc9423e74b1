// Limits through the real proxy: a rate limit shared by two proxy processes through Redis, the
// Redis-down policy, slowloris cut off at the headers timeout while a normal client is served,
// route ACLs and the in-flight cap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { request } from 'undici'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { backend, sleep, startProxy } from '../_helpers.js'
import { TestRedis } from './_redis.js'
import { runTs } from '../../_lib/node-args.js'

async function startChild(t: import('node:test').TestContext, config: unknown): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, [...runTs(new URL('./_proxy-child.ts', import.meta.url).pathname), JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.after(() => {
    child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`proxy child did not start: ${out}`)), 90_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /PORT (\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => reject(new Error(`proxy child exited ${code}`)))
  })
}

async function hammer(urls: string[], ms: number, concurrency = 6): Promise<{ ok: number; limited: number; other: number; seconds: number; sample429?: Record<string, unknown> }> {
  const start = performance.now()
  const end = start + ms
  const r = { ok: 0, limited: 0, other: 0, seconds: 0 } as { ok: number; limited: number; other: number; seconds: number; sample429?: Record<string, unknown> }
  await Promise.all(
    urls.flatMap((url) =>
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const res = await request(url)
          await res.body.dump()
          if (res.statusCode === 200) r.ok++
          else if (res.statusCode === 429) {
            r.limited++
            r.sample429 ??= res.headers
          } else r.other++
        }
      }),
    ),
  )
  r.seconds = (performance.now() - start) / 1000
  return r
}

test('rate limit shared by two proxy processes through Redis: admitted <= burst + rate*T (+1%)', async (t) => {
  const redis = await TestRedis.start()
  t.after(() => redis.stop())
  const origin = await backend(t, 'origin')
  const config = (port: number) => ({
    accessLog: { enabled: false },
    listeners: [{ port, address: '127.0.0.1' }],
    pools: { app: { servers: [origin.url] } },
    routes: [
      { match: { pathPrefix: '/warm' }, pool: 'app' },
      { pool: 'app', limits: { rate: [{ name: 'api', rate: 2, burst: 10, key: 'route' }] } },
    ],
    // A generous command timeout: on a loaded machine a slow Redis reply would otherwise trigger the
    // fail-open policy (a local bucket per process), which by design admits more than the budget.
    limits: { rateStore: { type: 'redis', url: redis.url, keyPrefix: 'e2e:', commandTimeoutMs: 5000 } },
  })
  const [a, b] = await Promise.all([startChild(t, config(0)), startChild(t, config(0))])
  // Warm both processes (JIT, upstream and Redis connections) on an unlimited route first.
  await hammer([`http://127.0.0.1:${a}/warm`, `http://127.0.0.1:${b}/warm`], 300)
  // A small rate keeps the budget far below what clients attempt even on a loaded machine, so
  // the limiter (not the machine) decides how many get through.
  const r = await hammer([`http://127.0.0.1:${a}/x`, `http://127.0.0.1:${b}/x`], 3000)
  const bound = 10 + 2 * r.seconds
  assert.equal(r.other, 0)
  assert.ok(r.ok <= bound * 1.01, `admitted ${r.ok} > ${bound.toFixed(1)} + 1%`)
  assert.ok(r.limited >= 10, `only ${r.limited} refusals: the clients did not saturate the budget`)
  assert.ok(r.ok >= bound * 0.9 - 1, `admitted only ${r.ok} of ${bound.toFixed(1)}`)
  assert.equal(r.sample429?.['ratelimit-limit'], '10')
  assert.equal(r.sample429?.['ratelimit-remaining'], '0')
  assert.ok(Number(r.sample429?.['retry-after']) >= 1)
  // Negative control: each process alone with a memory store admits its own budget (about twice).
  const [c, d] = await Promise.all([startChild(t, { ...config(0), limits: {} }), startChild(t, { ...config(0), limits: {} })])
  const solo = await hammer([`http://127.0.0.1:${c}/x`, `http://127.0.0.1:${d}/x`], 2500)
  assert.ok(solo.ok > (10 + 2 * solo.seconds) * 1.5, `per-process stores admitted only ${solo.ok}`)
})

test('Redis killed mid-test: fail-open keeps serving under a local limit, fail-closed answers 503', async (t) => {
  const redis = await TestRedis.start()
  t.after(() => redis.stop())
  const origin = await backend(t, 'origin')
  const make = (onFailure: 'open' | 'closed') =>
    startProxy(
      t,
      {
        listeners: [{ port: 0, address: '127.0.0.1' }],
        pools: { app: { servers: [origin.url] } },
        routes: [{ pool: 'app', limits: { rate: [{ rate: 1000, burst: 1000 }] } }],
        limits: { rateStore: { type: 'redis', url: redis.url, onFailure, commandTimeoutMs: 200 } },
      },
      { plugins: builtinPlugins },
    )
  const open = await make('open')
  const closed = await make('closed')
  await sleep(300)
  assert.equal((await request(`${open.url}/a`)).statusCode, 200)
  assert.equal((await request(`${closed.url}/a`)).statusCode, 200)
  await redis.kill()
  const o = await request(`${open.url}/b`)
  await o.body.dump()
  assert.equal(o.statusCode, 200)
  const t0 = performance.now()
  const c = await request(`${closed.url}/b`)
  await c.body.dump()
  assert.equal(c.statusCode, 503)
  assert.equal(c.headers['retry-after'], '1')
  assert.ok(performance.now() - t0 < 1500, 'fail-closed answer was slow')
  await redis.restart()
  let back = false
  for (let i = 0; i < 50 && !back; i++) {
    await sleep(100)
    const r = await request(`${closed.url}/c`)
    await r.body.dump()
    back = r.statusCode === 200
  }
  assert.ok(back, 'fail-closed proxy did not recover with Redis')
})

test('slowloris (one header byte per second) is cut at the headers timeout; a normal client gets full service meanwhile', async (t) => {
  const origin = await backend(t, 'origin')
  const { port, url } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app' }],
      limits: { headersTimeoutMs: 2000 },
    },
    { plugins: builtinPlugins },
  )
  const slow = connect(port, '127.0.0.1')
  const t0 = Date.now()
  let response = ''
  slow.on('data', (d: Buffer) => (response += d.toString('latin1')))
  slow.on('error', () => {})
  const closed = new Promise<number>((resolve) => slow.on('close', () => resolve(Date.now() - t0)))
  slow.write('GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ')
  const drip = setInterval(() => {
    if (!slow.destroyed) slow.write('a')
  }, 1000)
  t.after(() => clearInterval(drip))
  // Meanwhile a normal client: every request answered.
  let served = 0
  let servedWhileSlowOpen = 0
  let failed = 0
  let slowOpen = true
  const normal = (async () => {
    while (Date.now() - t0 < 3000) {
      const r = await request(`${url}/n`)
      await r.body.dump()
      if (r.statusCode === 200) served++
      else failed++
      if (slowOpen && r.statusCode === 200) servedWhileSlowOpen++
      await sleep(20)
    }
  })()
  const cutAfter = await closed
  slowOpen = false
  clearInterval(drip)
  await normal
  assert.ok(cutAfter >= 1900 && cutAfter <= 3500, `slow connection closed after ${cutAfter} ms`)
  // Closed without an answer (as nginx does on client_header_timeout), or with a 408.
  assert.ok(response === '' || response.startsWith('HTTP/1.1 408'), JSON.stringify(response.slice(0, 40)))
  assert.equal(failed, 0)
  // Served all along, not just after the slow connection went away (no speed assumed).
  assert.ok(servedWhileSlowOpen >= 5 && served >= servedWhileSlowOpen, `normal client served ${servedWhileSlowOpen} requests during the attack`)
})

test('route ACL (CIDR) and the in-flight cap answer 403 / 503 at once', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const origin = await backend(t, 'origin', (req, res) => {
    if (req.url === '/slow') void gate.then(() => res.end('slow'))
    else res.end('ok')
  })
  const { url } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [origin.url] } },
      routes: [
        { name: 'admin', match: { pathPrefix: '/admin' }, pool: 'app', acl: { allow: ['10.0.0.0/8'] } },
        { name: 'slow', match: { pathPrefix: '/slow' }, pool: 'app', limits: { maxInflight: 2 } },
        { name: 'rest', pool: 'app' },
      ],
    },
    { plugins: builtinPlugins },
  )
  assert.equal((await request(`${url}/admin`)).statusCode, 403)
  // Normalised before the ACL: an encoded or dotted path cannot dodge it.
  assert.equal((await request(`${url}/x/../admin`)).statusCode, 403)
  assert.equal((await request(`${url}/%61dmin`)).statusCode, 403)
  assert.equal((await request(`${url}//admin`)).statusCode, 403)
  const held = [request(`${url}/slow`), request(`${url}/slow`)]
  await sleep(200)
  const t0 = performance.now()
  const third = await request(`${url}/slow`)
  assert.equal(third.statusCode, 503)
  assert.ok(performance.now() - t0 < 500)
  release()
  for (const h of await Promise.all(held)) assert.equal(h.statusCode, 200)
  assert.equal((await request(`${url}/slow`)).statusCode, 200)
})
