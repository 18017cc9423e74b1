// RFC 9111 behaviour through the real proxy: one origin whose answer per path is scripted, the
// builtin plugins, and checks of X-Cache / Age / bodies / origin hit counts for each directive.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { request } from 'undici'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { backend, sleep, startProxy } from '../_helpers.js'

/**
 * Cache expiry without waiting for it: only `Date` is mocked (timers stay real), from before the
 * proxy starts, so the cache's clock, the proxy's and the origin's Date headers all read the mock
 * and tick() ages every stored response at once.
 */
function mockClock(t: TestContext): (ms: number) => void {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  return (ms) => t.mock.timers.tick(ms)
}

type Script = (req: IncomingMessage, n: number) => { status?: number; headers?: OutgoingHttpHeaders; body?: string; delayMs?: number }

async function setup(t: TestContext, scripts: Record<string, Script>) {
  const hits = new Map<string, IncomingMessage[]>()
  const origin = await backend(t, 'origin', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] as string
    const list = hits.get(path) ?? []
    list.push(req)
    hits.set(path, list)
    const s = scripts[path]
    const r = s === undefined ? { status: 404, body: 'none' } : s(req, list.length)
    const go = () => {
      const body = r.body ?? ''
      res.writeHead(r.status ?? 200, { 'content-length': Buffer.byteLength(body), date: new Date().toUTCString(), ...r.headers })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    req.resume()
    if (r.delayMs !== undefined) setTimeout(go, r.delayMs)
    else go()
  })
  const { url, proxy } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app', cache: true }],
      cache: {},
      admin: { port: 0, address: '127.0.0.1' },
    },
    { plugins: builtinPlugins },
  )
  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const r = await request(`${url}${path}`, { method: method as 'GET', headers })
    const body = await r.body.text()
    return { status: r.statusCode, headers: r.headers, body, xcache: r.headers['x-cache'] as string | undefined, age: Number(r.headers['age']) }
  }
  return { url, proxy, get, hits: (p: string) => hits.get(p)?.length ?? 0, reqs: (p: string) => hits.get(p) ?? [], admin: proxy.admin?.url as string }
}

test('max-age, s-maxage, Age, no-store, private, Authorization, Set-Cookie, Expires, heuristic', async (t) => {
  const past = new Date(Date.now() - 10 * 86400_000).toUTCString()
  const c = await setup(t, {
    '/max-age': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }),
    '/s-maxage': (_r, n) => ({ headers: { 'cache-control': 'max-age=0, s-maxage=60' }, body: `v${n}` }),
    '/aged': (_r, n) => ({ headers: { 'cache-control': 'max-age=100', age: '100' }, body: `v${n}` }),
    '/no-store': (_r, n) => ({ headers: { 'cache-control': 'max-age=60, no-store' }, body: `v${n}` }),
    '/private': (_r, n) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `v${n}` }),
    '/auth': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }),
    '/auth-public': (_r, n) => ({ headers: { 'cache-control': 'public, max-age=60' }, body: `v${n}` }),
    '/cookie': (_r, n) => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }, body: `v${n}` }),
    '/expires': (_r, n) => ({ headers: { expires: new Date(Date.now() + 60_000).toUTCString() }, body: `v${n}` }),
    '/expires-past': (_r, n) => ({ headers: { expires: new Date(Date.now() - 60_000).toUTCString() }, body: `v${n}` }),
    '/expires-bad': (_r, n) => ({ headers: { expires: '0' }, body: `v${n}` }),
    '/heuristic': (_r, n) => ({ headers: { 'last-modified': past }, body: `v${n}` }),
    '/uncacheable-status': (_r, n) => ({ status: 302, headers: { location: '/x' }, body: `v${n}` }),
    '/immutable': (_r, n) => ({ headers: { 'cache-control': 'max-age=60, immutable' }, body: `v${n}` }),
  })
  const first = await c.get('/max-age')
  assert.equal(first.xcache, 'MISS')
  const second = await c.get('/max-age')
  assert.deepEqual([second.xcache, second.body, c.hits('/max-age')], ['HIT', 'v1', 1])
  assert.ok(second.age >= 0 && second.age < 60)
  assert.equal((await c.get('/s-maxage')).xcache, 'MISS')
  assert.equal((await c.get('/s-maxage')).xcache, 'HIT')
  // Age: 100 from upstream with max-age=100 is already stale.
  await c.get('/aged')
  assert.notEqual((await c.get('/aged')).xcache, 'HIT')
  assert.equal(c.hits('/aged'), 2)
  for (const p of ['/no-store', '/private', '/cookie', '/expires-past', '/expires-bad', '/uncacheable-status']) {
    await c.get(p)
    const again = await c.get(p)
    assert.notEqual(again.xcache, 'HIT', p)
    assert.equal(c.hits(p), 2, p)
  }
  await c.get('/auth', { authorization: 'Basic eDp5' })
  await c.get('/auth', { authorization: 'Basic eDp5' })
  assert.equal(c.hits('/auth'), 2)
  await c.get('/auth-public', { authorization: 'Basic eDp5' })
  assert.equal((await c.get('/auth-public', { authorization: 'Basic eDp5' })).xcache, 'HIT')
  for (const p of ['/expires', '/heuristic', '/immutable']) {
    await c.get(p)
    assert.equal((await c.get(p)).xcache, 'HIT', p)
    assert.equal(c.hits(p), 1, p)
  }
})

test('request directives: no-cache, max-age, min-fresh, max-stale, only-if-cached, Pragma', async (t) => {
  const advance = mockClock(t)
  const c = await setup(t, {
    '/r': (req, n) => ({ status: req.headers['if-none-match'] === '"e1"' ? 304 : 200, headers: { 'cache-control': 'max-age=60', etag: '"e1"' }, body: `v${n}` }),
    '/stale': (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }),
    '/stale-mr': (_r, n) => ({ headers: { 'cache-control': 'max-age=1, must-revalidate' }, body: `v${n}` }),
  })
  await c.get('/r')
  // Request no-cache: validated with the origin (conditional), then served from cache.
  const nc = await c.get('/r', { 'cache-control': 'no-cache' })
  assert.equal(nc.body, 'v1')
  assert.equal(c.hits('/r'), 2)
  assert.equal(c.reqs('/r')[1]?.headers['if-none-match'], '"e1"')
  await c.get('/r', { pragma: 'no-cache' })
  assert.equal(c.hits('/r'), 3)
  assert.equal((await c.get('/r', { 'cache-control': 'max-age=0' })).body, 'v1')
  assert.equal(c.hits('/r'), 4)
  await c.get('/r', { 'cache-control': 'min-fresh=3600' })
  assert.equal(c.hits('/r'), 5)
  assert.equal((await c.get('/r', { 'cache-control': 'max-age=3600' })).xcache, 'HIT')
  assert.equal(c.hits('/r'), 5)
  const oic = await c.get('/absent', { 'cache-control': 'only-if-cached' })
  assert.equal(oic.status, 504)
  assert.equal(c.hits('/absent'), 0)
  await c.get('/stale')
  await c.get('/stale-mr')
  advance(2100)
  const ms = await c.get('/stale', { 'cache-control': 'max-stale=60' })
  assert.deepEqual([ms.xcache, ms.body], ['STALE', 'v1'])
  // must-revalidate forbids serving stale even when the client allows it.
  const mr = await c.get('/stale-mr', { 'cache-control': 'max-stale=60' })
  assert.equal(mr.body, 'v2')
})

test('validators: ETag and Last-Modified revalidation, 304 header merge, no-cache, must-revalidate, proxy-revalidate', async (t) => {
  const advance = mockClock(t)
  const lm = new Date(Date.now() - 3600_000).toUTCString()
  const c = await setup(t, {
    '/etag': (req, n) =>
      req.headers['if-none-match'] === '"v1"'
        ? { status: 304, headers: { 'cache-control': 'max-age=1', etag: '"v1"', 'x-version': String(n) } }
        : { headers: { 'cache-control': 'max-age=1', etag: '"v1"', 'x-version': String(n), 'content-type': 'text/plain' }, body: 'etag-body' },
    '/lm': (req) =>
      req.headers['if-modified-since'] === lm ? { status: 304, headers: { 'cache-control': 'max-age=1' } } : { headers: { 'cache-control': 'max-age=1', 'last-modified': lm }, body: 'lm-body' },
    '/no-cache': (req, n) => (req.headers['if-none-match'] === '"nc"' ? { status: 304, headers: { etag: '"nc"' } } : { headers: { 'cache-control': 'no-cache', etag: '"nc"' }, body: `nc${n}` }),
    '/mr': (req) => (req.headers['if-none-match'] === '"m"' ? { status: 304, headers: { etag: '"m"', 'cache-control': 'max-age=60, must-revalidate' } } : { headers: { 'cache-control': 'max-age=1, must-revalidate', etag: '"m"' }, body: 'mr' }),
    '/pr': (req) => (req.headers['if-none-match'] === '"p"' ? { status: 304, headers: { etag: '"p"', 'cache-control': 'max-age=60, proxy-revalidate' } } : { headers: { 'cache-control': 'max-age=1, proxy-revalidate', etag: '"p"' }, body: 'pr' }),
  })
  for (const p of ['/etag', '/lm', '/mr', '/pr']) await c.get(p)
  // no-cache: stored, but every use is validated first.
  await c.get('/no-cache')
  const nc = await c.get('/no-cache')
  assert.deepEqual([nc.body, c.hits('/no-cache'), c.reqs('/no-cache')[1]?.headers['if-none-match']], ['nc1', 2, '"nc"'])
  // must-revalidate / proxy-revalidate while fresh: plain hits (http-cache-semantics would revalidate).
  assert.equal((await c.get('/mr')).xcache, 'HIT')
  assert.equal((await c.get('/pr')).xcache, 'HIT')
  advance(2100)
  const e = await c.get('/etag')
  assert.deepEqual([e.status, e.body, e.headers['x-version'], e.headers['content-type'], e.xcache], [200, 'etag-body', '2', 'text/plain', 'HIT'])
  assert.equal(c.reqs('/etag')[1]?.headers['if-none-match'], '"v1"')
  const l = await c.get('/lm')
  assert.deepEqual([l.body, c.hits('/lm')], ['lm-body', 2])
  assert.equal(c.reqs('/lm')[1]?.headers['if-modified-since'], lm)
  // After the 304 the merged entry is fresh again: no more origin hits.
  assert.equal((await c.get('/lm')).xcache, 'HIT')
  assert.equal(c.hits('/lm'), 2)
  for (const p of ['/mr', '/pr']) {
    const r = await c.get(p)
    assert.equal(c.hits(p), 2, p)
    assert.equal(c.reqs(p)[1]?.headers['if-none-match'] !== undefined, true, p)
    assert.equal(r.status, 200)
  }
  // Client conditionals answered from the cache.
  const cond = await c.get('/etag', { 'if-none-match': '"v1"' })
  assert.deepEqual([cond.status, cond.body], [304, ''])
})

test('Vary, HEAD from GET, ranges, client 304, invalidation by unsafe methods', async (t) => {
  const c = await setup(t, {
    '/vary': (req, n) => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body: `${req.headers['accept-language'] ?? 'none'}-${n}` }),
    '/vary-star': (_r, n) => ({ headers: { 'cache-control': 'max-age=60', vary: '*' }, body: `s${n}` }),
    '/obj': (req, n) => (req.method === 'POST' ? { status: 204 } : { headers: { 'cache-control': 'max-age=60', etag: '"o"' }, body: `0123456789-${n}` }),
    '/loc-target': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `t${n}` }),
    '/writer': () => ({ status: 201, headers: { location: '/loc-target' } }),
  })
  assert.equal((await c.get('/vary', { 'accept-language': 'en' })).body, 'en-1')
  assert.equal((await c.get('/vary', { 'accept-language': 'fr' })).body, 'fr-2')
  const en = await c.get('/vary', { 'accept-language': 'en' })
  assert.deepEqual([en.body, en.xcache], ['en-1', 'HIT'])
  assert.equal((await c.get('/vary', { 'accept-language': 'fr' })).body, 'fr-2')
  assert.equal((await c.get('/vary')).body, 'none-3')
  assert.equal(c.hits('/vary'), 3)
  await c.get('/vary-star')
  await c.get('/vary-star')
  assert.equal(c.hits('/vary-star'), 2)

  await c.get('/obj')
  const head = await c.get('/obj', {}, 'HEAD')
  assert.deepEqual([head.status, head.body, head.xcache, head.headers['content-length']], [200, '', 'HIT', '12'])
  const range = await c.get('/obj', { range: 'bytes=2-5' })
  assert.deepEqual([range.status, range.body, range.headers['content-range']], [206, '2345', 'bytes 2-5/12'])
  const suffix = await c.get('/obj', { range: 'bytes=-3' })
  assert.deepEqual([suffix.status, suffix.body], [206, '-1'.padStart(3, '9')])
  const bad = await c.get('/obj', { range: 'bytes=50-60' })
  assert.deepEqual([bad.status, bad.headers['content-range']], [416, 'bytes */12'])
  const ifRangeMismatch = await c.get('/obj', { range: 'bytes=0-1', 'if-range': '"other"' })
  assert.deepEqual([ifRangeMismatch.status, ifRangeMismatch.body], [200, '0123456789-1'])
  assert.equal(c.hits('/obj'), 1)
  // Range on a miss is passed through (the origin here ignores it and answers 200).
  const passRange = await c.get('/loc-target', { range: 'bytes=0-0' })
  assert.equal(passRange.xcache, 'MISS')
  await c.get('/loc-target')
  assert.equal((await c.get('/loc-target')).xcache, 'HIT')

  // Unsafe methods invalidate the target URI and a same-origin Location.
  const post = await c.get('/obj', {}, 'POST')
  assert.deepEqual([post.status, post.xcache], [204, 'BYPASS'])
  assert.equal((await c.get('/obj')).xcache, 'MISS')
  await c.get('/writer', {}, 'PUT')
  assert.equal((await c.get('/loc-target')).xcache, 'MISS')
})

test('stale-while-revalidate serves stale at once and refreshes in the background; stale-if-error hides a failing origin', async (t) => {
  const advance = mockClock(t)
  let fail = false
  const c = await setup(t, {
    // max-age=2, not 1: Date has whole seconds, so a response can arrive already ~1 s old; with
    // max-age=1 the refreshed copy could be stale again by the time it is checked.
    '/swr': (_r, n) => ({ headers: { 'cache-control': 'max-age=2, stale-while-revalidate=30' }, body: `v${n}` }),
    '/sie': (_r, n) => (fail ? { status: 503, body: 'down' } : { headers: { 'cache-control': 'max-age=1, stale-if-error=30' }, body: `v${n}` }),
    '/plain': (_r, n) => (fail ? { status: 503, body: 'down' } : { headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }),
  })
  await c.get('/swr')
  await c.get('/sie')
  await c.get('/plain')
  advance(3100)
  const s = await c.get('/swr')
  assert.deepEqual([s.xcache, s.body], ['STALE', 'v1'])
  // The background revalidation lands shortly after; until then the stale copy keeps being served
  // (and no second revalidation starts).
  let fresh = await c.get('/swr')
  for (let i = 0; i < 100 && fresh.body !== 'v2'; i++) {
    assert.equal(fresh.xcache, 'STALE')
    await sleep(30)
    fresh = await c.get('/swr')
  }
  assert.deepEqual([fresh.xcache, fresh.body], ['HIT', 'v2'])
  assert.equal(c.hits('/swr'), 2)
  fail = true
  const e = await c.get('/sie')
  assert.deepEqual([e.status, e.xcache, e.body], [200, 'STALE', 'v1'])
  // Negative control: without stale-if-error the error goes through.
  assert.equal((await c.get('/plain')).status, 503)
})

test('request collapsing: 20 concurrent misses make one origin request; purge by URL and prefix', async (t) => {
  const c = await setup(t, {
    '/slow': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `slow${n}`, delayMs: 300 }),
    '/p/a': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `a${n}` }),
    '/p/b': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `b${n}` }),
    '/q': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `q${n}` }),
  })
  const all = await Promise.all(Array.from({ length: 20 }, () => c.get('/slow')))
  assert.equal(c.hits('/slow'), 1)
  assert.ok(all.every((r) => r.status === 200 && r.body === 'slow1'))
  assert.equal(all.filter((r) => r.xcache === 'MISS').length, 1)
  for (const p of ['/p/a', '/p/b', '/q']) await c.get(p)
  const host = new URL(c.url).hostname
  const purge = async (q: string) => {
    const r = await request(`${c.admin}/proxy/cache/purge?${q}`, { method: 'POST' })
    return (await r.body.json()) as { purged: number }
  }
  assert.deepEqual(await purge(`url=${encodeURIComponent(`http://${host}/q`)}`), { purged: 1 })
  assert.equal((await c.get('/q')).xcache, 'MISS')
  assert.deepEqual(await purge(`prefix=${encodeURIComponent(`http://${host}/p/`)}`), { purged: 2 })
  assert.equal((await c.get('/p/a')).xcache, 'MISS')
  assert.equal((await c.get('/p/b')).xcache, 'MISS')
  assert.equal((await c.get('/slow')).xcache, 'HIT')
})
