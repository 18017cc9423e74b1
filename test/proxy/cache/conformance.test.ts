// Shared-cache conformance, written from RFC 9111 (HTTP Caching), RFC 5861 (stale-if-error) and
// the Edge Architecture Specification (Surrogate-Control), through the real proxy with default
// settings and one scripted origin. "Stale" entries are made by a Date in the past, not by sleeping.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cacheProxy, httpDate, scriptedOrigin, type Reply, type Script } from './_scripted.js'

type H = [string, string][]

/** Scripts for paths whose first answer is `first` (body v1) and whose later answers are `then` or v<n>. */
function twice(first: H, then?: (n: number) => Reply): Script {
  return (_req, n) => (n === 1 ? { headers: first, body: 'v1' } : (then?.(n) ?? { headers: first, body: `v${n}` }))
}

test('Age: an invalid, negative, fractional, suffixed or repeated Age is not trusted: the response is stale at once (RFC 9111 §5.1; cache-tests.fyi age-parse)', async (t) => {
  const cc: [string, string] = ['cache-control', 'max-age=3600']
  const cases: Record<string, H> = {
    '/age-abc': [cc, ['age', 'abc']],
    '/age-negative': [cc, ['age', '-7200']],
    '/age-float': [cc, ['age', '7200.0']],
    '/age-suffix': [cc, ['age', '7200,0']],
    '/age-prefix': [cc, ['age', '0,7200']],
    '/age-two-lines': [cc, ['age', '7200'], ['age', '0']],
    '/age-two-lines-rev': [cc, ['age', '0'], ['age', '7200']],
    '/age-dup-0': [cc, ['age', '0, 0']],
    '/age-dup-0-two-lines': [cc, ['age', '0'], ['age', '0']],
    '/age-dup-old': [cc, ['age', '7200, 7200']],
    '/age-dup-old-two-lines': [cc, ['age', '7200'], ['age', '7200']],
    '/age-plus': [cc, ['age', '+7200']],
    '/age-parameter': [cc, ['age', '0;foo=bar']],
  }
  const scripts: Record<string, Script> = { '/age-valid': twice([cc, ['age', '7200']]), '/age-zero': twice([cc, ['age', '0']]), '/age-small': twice([cc, ['age', ' 60 ']]) }
  for (const [p, h] of Object.entries(cases)) scripts[p] = twice(h)
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  for (const path of Object.keys(cases)) {
    const first = await p.get(path)
    assert.equal(first.body, 'v1', path)
    const again = await p.get(path)
    assert.deepEqual([again.body, origin.hits(path)], ['v2', 2], `${path}: an Age that cannot be read must not let the response be reused without the origin`)
  }
  // Controls: a valid Age beyond max-age makes the response stale; a valid small one keeps it fresh.
  await p.get('/age-valid')
  assert.deepEqual([(await p.get('/age-valid')).body, origin.hits('/age-valid')], ['v2', 2])
  for (const path of ['/age-zero', '/age-small']) {
    await p.get(path)
    const hit = await p.get(path)
    assert.deepEqual([hit.xcache, hit.body, origin.hits(path)], ['HIT', 'v1', 1], path)
  }
})

test('Cache-Control syntax: no whitespace around "=", quoted strings hide directives (RFC 9111 §5.2)', async (t) => {
  const past = httpDate(-10)
  const origin = await scriptedOrigin(t, {
    '/space-before': twice([['cache-control', 'max-age =3600']]),
    '/space-after': twice([['cache-control', 'max-age= 3600']]),
    '/single-quoted': twice([['cache-control', "max-age='3600'"]]),
    '/quoted-ext': twice([['cache-control', 'extension="max-age=3600", max-age=1'], ['date', past]]),
    '/quoted-ext-rev': twice([['cache-control', 'max-age=1, extension="max-age=3600"'], ['date', past]]),
    '/leading-zero': twice([['cache-control', 'max-age=003600']]),
    '/quoted-value': twice([['cache-control', 'max-age="3600"']]),
  })
  const p = await cacheProxy(t, origin)
  for (const path of ['/space-before', '/space-after', '/single-quoted', '/quoted-ext', '/quoted-ext-rev']) {
    await p.get(path)
    assert.deepEqual([(await p.get(path)).body, origin.hits(path)], ['v2', 2], path)
  }
  for (const path of ['/leading-zero', '/quoted-value']) {
    await p.get(path)
    assert.deepEqual([(await p.get(path)).xcache, origin.hits(path)], ['HIT', 1], path)
  }
})

test('Surrogate-Control is honoured (max-age over Cache-Control, no-store, targeting) and never reaches the client', async (t) => {
  const past = httpDate(-10)
  const fresh: Record<string, H> = {
    '/sc-max-age': [['surrogate-control', 'max-age=3600']],
    '/sc-extension': [['surrogate-control', 'foobar, max-age=3600']],
    '/sc-case': [['surrogate-control', 'MaX-aGe=3600']],
    '/sc-past-expires': [['surrogate-control', 'max-age=3600'], ['expires', httpDate(-10000)], ['date', httpDate(0)]],
    '/sc-bad-expires': [['surrogate-control', 'max-age=3600'], ['expires', '0']],
    '/sc-over-short-cc': [['cache-control', 'max-age=1'], ['surrogate-control', 'max-age=3600'], ['date', past]],
    '/sc-targeted-here': [['cache-control', 'max-age=1'], ['surrogate-control', 'max-age=3600;switchyard'], ['date', past]],
  }
  const notFresh: Record<string, H> = {
    '/sc-zero': [['surrogate-control', 'max-age=0']],
    '/sc-zero-future-expires': [['surrogate-control', 'max-age=0'], ['expires', httpDate(10000)]],
    '/sc-under-long-cc': [['cache-control', 'max-age=3600'], ['surrogate-control', 'max-age=1'], ['date', past]],
    '/sc-age': [['surrogate-control', 'max-age=3600'], ['age', '12000']],
    '/sc-no-store': [['surrogate-control', 'no-store']],
    '/sc-no-store-cc-fresh': [['cache-control', 'max-age=10000'], ['surrogate-control', 'no-store'], ['expires', httpDate(10000)]],
    '/sc-space-before': [['cache-control', 'max-age=1'], ['surrogate-control', 'max-age =100'], ['date', past]],
    '/sc-space-after': [['cache-control', 'max-age=1'], ['surrogate-control', 'max-age= 100'], ['date', past]],
    '/sc-targeted-elsewhere': [['cache-control', 'max-age=1'], ['surrogate-control', 'max-age=3600;other-cdn'], ['date', past]],
  }
  const scripts: Record<string, Script> = {}
  for (const [path, h] of Object.entries({ ...fresh, ...notFresh })) scripts[path] = twice(h)
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  for (const path of Object.keys(fresh)) {
    const first = await p.get(path)
    const again = await p.get(path)
    assert.deepEqual([again.xcache, again.body, origin.hits(path)], ['HIT', 'v1', 1], path)
    assert.deepEqual([first.headers['surrogate-control'], again.headers['surrogate-control']], [undefined, undefined], `${path}: Surrogate-Control is for the proxy only`)
  }
  for (const path of Object.keys(notFresh)) {
    const first = await p.get(path)
    const again = await p.get(path)
    assert.deepEqual([again.body, origin.hits(path)], ['v2', 2], path)
    assert.deepEqual([first.headers['surrogate-control'], again.headers['surrogate-control']], [undefined, undefined], path)
  }
})

test('Surrogate-Capability announces this cache upstream, and a Surrogate-Control max-age targeted at it overrides Cache-Control: no-store (Edge Architecture §2.2, cache-tests.fyi surrogate-fresh-cc-nostore)', async (t) => {
  const seen: (string | string[] | undefined)[] = []
  const origin = await scriptedOrigin(t, {
    // Like the suite's origin: target the token the request announced.
    '/targeted': (req, n) => {
      const cap = req.headers['surrogate-capability']
      seen.push(cap)
      const token = typeof cap === 'string' ? (cap.split(',').pop() ?? '').split('=')[0]!.trim() : 'nobody'
      return { headers: [['cache-control', 'no-store'], ['surrogate-control', `max-age=10000;${token}`]], body: `v${n}` }
    },
    '/untargeted-no-store': twice([['cache-control', 'no-store'], ['surrogate-control', 'max-age=10000']]),
    '/other-target-no-store': twice([['cache-control', 'no-store'], ['surrogate-control', 'max-age=10000;other-cdn']]),
  })
  const p = await cacheProxy(t, origin)
  await p.get('/targeted', { 'surrogate-capability': 'edge="Surrogate/1.0"' })
  assert.deepEqual(seen, ['edge="Surrogate/1.0", switchyard="Surrogate/1.0"'], 'the client\'s capabilities are kept and this cache appends its own')
  const again = await p.get('/targeted')
  assert.deepEqual([again.xcache, again.body, origin.hits('/targeted')], ['HIT', 'v1', 1])
  assert.equal(again.headers['cache-control'], 'no-store', 'Cache-Control still reaches the client unchanged')
  await p.get('/untargeted-no-store')
  assert.deepEqual([(await p.get('/untargeted-no-store')).body, origin.hits('/untargeted-no-store')], ['v1', 1])
  // Targeted elsewhere: ignored, so Cache-Control's no-store applies.
  await p.get('/other-target-no-store')
  assert.deepEqual([(await p.get('/other-target-no-store')).body, origin.hits('/other-target-no-store')], ['v2', 2])
})

test('serving stale when the origin closes the connection without answering (RFC 9111 §4.2.4), unless forbidden', async (t) => {
  const past = httpDate(-10)
  const down = (): Reply => ({ disconnect: true })
  const served = { '/close': 'max-age=2', '/sie-close': 'max-age=2, stale-if-error=60' }
  const forbidden = { '/must-revalidate': 'max-age=2, must-revalidate', '/proxy-revalidate': 'max-age=2, proxy-revalidate', '/no-cache': 'max-age=2, no-cache', '/s-maxage': 'max-age=2, s-maxage=2' }
  const scripts: Record<string, Script> = {}
  for (const [path, cc] of Object.entries({ ...served, ...forbidden })) scripts[path] = twice([['cache-control', cc], ['date', past], ['template-a', '1']], down)
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  for (const path of Object.keys(served)) {
    await p.get(path)
    const r = await p.get(path)
    assert.deepEqual([r.status, r.xcache, r.body, r.headers['template-a']], [200, 'STALE', 'v1', '1'], path)
    assert.ok(origin.hits(path) >= 2, `${path}: the origin was asked first`)
  }
  for (const path of Object.keys(forbidden)) {
    await p.get(path)
    const r = await p.get(path)
    assert.ok(r.status >= 500 && r.body !== 'v1', `${path}: a stale copy must not be served (got ${r.status} ${r.body})`)
  }
})

test('staleIfUnreachableSec bounds how stale an answer may be when the origin is unreachable', async (t) => {
  const down = (): Reply => ({ disconnect: true })
  const origin = await scriptedOrigin(t, {
    '/old': twice([['cache-control', 'max-age=2'], ['date', httpDate(-100)]], down),
    '/recent': twice([['cache-control', 'max-age=2'], ['date', httpDate(-12)]], down),
  })
  const p = await cacheProxy(t, origin, { cache: { staleIfUnreachableSec: 30 } })
  await p.get('/old')
  const r = await p.get('/old')
  assert.ok(r.status >= 500 && r.body !== 'v1', `98 s stale is beyond 30 s (got ${r.status} ${r.body})`)
  await p.get('/recent')
  assert.deepEqual([(await p.get('/recent')).xcache, (await p.get('/recent')).body], ['STALE', 'v1'])
})

test('stale-if-error answers for every 5xx status (RFC 5861 §4); without it the error goes through', async (t) => {
  const past = httpDate(-10)
  const statuses = Array.from({ length: 100 }, (_, i) => 500 + i)
  const scripts: Record<string, Script> = {}
  for (const s of statuses) scripts[`/sie-${s}`] = twice([['cache-control', 'max-age=1, stale-if-error=600'], ['date', past]], () => ({ status: s, body: 'error' }))
  scripts['/no-sie'] = twice([['cache-control', 'max-age=1'], ['date', past]], () => ({ status: 500, body: 'error' }))
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  for (const s of statuses) {
    await p.get(`/sie-${s}`)
    const r = await p.get(`/sie-${s}`)
    assert.deepEqual([r.status, r.xcache, r.body], [200, 'STALE', 'v1'], `status ${s}`)
  }
  await p.get('/no-sie')
  assert.deepEqual([(await p.get('/no-sie')).status, (await p.get('/no-sie')).body], [500, 'error'])
})

test('a 304 updates the stored headers (RFC 9111 §3.2, §4.3.4) but never the body, its length or its digest (Content-MD5)', async (t) => {
  const lm = httpDate(-86400)
  const first: H = [
    ['cache-control', 'max-age=1'],
    ['date', httpDate(-10)],
    ['etag', '"e1"'],
    ['test-header', 'A'],
    ['content-type', 'text/plain'],
    ['x-frame-options', 'deny'],
    ['content-foo', 'A'],
    ['kept', 'stored'],
    ['content-md5', 'rL0Y20zC+Fzt72VPzMSk2A=='],
  ]
  const updated: H = [
    ['cache-control', 'max-age=3600'],
    ['etag', '"e1"'],
    ['test-header', 'B'],
    ['content-type', 'text/plain;charset=utf-8'],
    ['x-frame-options', 'sameorigin'],
    ['content-foo', 'B'],
    ['content-md5', 'N7UdGUp1E+RbVvZSTy1R8g=='],
  ]
  const origin = await scriptedOrigin(t, {
    '/etag': (req) => (req.headers['if-none-match'] === '"e1"' ? { status: 304, headers: updated } : { headers: first, body: 'the body' }),
    '/lm': (req) =>
      req.headers['if-modified-since'] === lm
        ? { status: 304, headers: [['cache-control', 'max-age=3600'], ['last-modified', lm], ['test-header', 'B']] }
        : { headers: [['cache-control', 'max-age=1'], ['date', httpDate(-10)], ['last-modified', lm], ['test-header', 'A'], ['kept', 'stored']], body: 'the body' },
  })
  const p = await cacheProxy(t, origin)
  await p.get('/etag')
  const want = { 'test-header': 'B', 'content-type': 'text/plain;charset=utf-8', 'x-frame-options': 'sameorigin', 'content-foo': 'B', kept: 'stored', 'content-length': '8', 'content-md5': 'rL0Y20zC+Fzt72VPzMSk2A==' }
  const pick = (h: Record<string, unknown>) => Object.fromEntries(Object.keys(want).map((k) => [k, h[k]]))
  const validated = await p.get('/etag')
  assert.deepEqual([validated.body, pick(validated.headers)], ['the body', want], 'the answer to the validating request')
  const hit = await p.get('/etag')
  assert.deepEqual([hit.xcache, hit.body, pick(hit.headers), origin.hits('/etag')], ['HIT', 'the body', want, 2], 'the stored response after the 304')
  await p.get('/lm')
  await p.get('/lm')
  const lmHit = await p.get('/lm')
  assert.deepEqual([lmHit.xcache, lmHit.headers['test-header'], lmHit.headers['kept'], origin.hits('/lm')], ['HIT', 'B', 'stored', 2])
})

test('what a shared cache stores: not Connection-listed fields, not no-cache="f" / private="f" fields, the rest', async (t) => {
  const cc: [string, string] = ['cache-control', 'max-age=3600']
  const origin = await scriptedOrigin(t, {
    '/connection': twice([cc, ['connection', 'a, b'], ['a', '1'], ['b', '2'], ['c', '3']]),
    '/no-cache-field': twice([['cache-control', 'max-age=3600, no-cache="a"'], ['a', '1'], ['b', '2']]),
    '/no-cache-fields': twice([['cache-control', 'max-age=3600, no-cache="a, b"'], ['a', '1'], ['b', '2'], ['c', '3']]),
    '/private-field': twice([['cache-control', 'max-age=3600, private="a"'], ['a', '1'], ['b', '2']]),
    '/private': twice([['cache-control', 'max-age=3600, private']]),
    '/plain-headers': twice([cc, ['x-frame-options', 'deny'], ['content-type', 'text/plain'], ['www-authenticate', 'Basic'], ['clear-site-data', 'cookies']]),
  })
  const p = await cacheProxy(t, origin)
  const check = async (path: string, present: Record<string, string>, absent: string[]) => {
    const first = await p.get(path)
    const hit = await p.get(path)
    assert.deepEqual([hit.xcache, origin.hits(path)], ['HIT', 1], path)
    for (const [k, v] of Object.entries(present)) assert.equal(hit.headers[k], v, `${path}: ${k} stored`)
    for (const k of absent) assert.equal(hit.headers[k], undefined, `${path}: ${k} must not be stored`)
    return first
  }
  const first = await check('/connection', { c: '3' }, ['a', 'b'])
  assert.deepEqual([first.headers['a'], first.headers['b']], [undefined, undefined], 'Connection-listed fields are hop-by-hop')
  const nc = await check('/no-cache-field', { b: '2' }, ['a'])
  assert.equal(nc.headers['a'], '1', 'the client whose request reached the origin gets every field')
  await check('/no-cache-fields', { c: '3' }, ['a', 'b'])
  await check('/private-field', { b: '2' }, ['a'])
  await check('/plain-headers', { 'x-frame-options': 'deny', 'content-type': 'text/plain', 'www-authenticate': 'Basic', 'clear-site-data': 'cookies' }, [])
  await p.get('/private')
  await p.get('/private')
  assert.equal(origin.hits('/private'), 2, 'private (no field list) is never stored by a shared cache')
})

test('freshness: s-maxage over max-age for a shared cache; heuristics only for heuristically cacheable statuses (RFC 9111 §4.2.2)', async (t) => {
  const past = httpDate(-10)
  const lm = httpDate(-100000)
  const heuristic = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]
  // 5xx spread out: five in a row would trip passive ejection, which is not what this tests.
  const notHeuristic = [500, 201, 502, 202, 503, 302, 303, 307, 400, 403, 409]
  const scripts: Record<string, Script> = {
    '/s-maxage-long': twice([['cache-control', 'max-age=1, s-maxage=3600'], ['date', past]]),
    '/s-maxage-short': twice([['cache-control', 'max-age=3600, s-maxage=1'], ['date', past]]),
    '/public-302': (_r, n) => ({ status: 302, headers: [['cache-control', 'public'], ['last-modified', lm], ['location', '/x']], body: `v${n}` }),
    '/no-lm': twice([]),
    '/expires-wins': twice([['expires', httpDate(-5)], ['last-modified', lm]]),
  }
  for (const s of [...heuristic, ...notHeuristic]) scripts[`/h-${s}`] = (_r, n) => ({ status: s, headers: [['last-modified', lm], ['location', '/x']], body: s === 204 ? '' : `v${n}` })
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  const twiceHits = async (path: string) => {
    await p.get(path)
    await p.get(path)
    return origin.hits(path)
  }
  assert.equal(await twiceHits('/s-maxage-long'), 1)
  assert.equal(await twiceHits('/s-maxage-short'), 2)
  for (const s of heuristic) assert.equal(await twiceHits(`/h-${s}`), 1, `status ${s} is heuristically cacheable`)
  for (const s of notHeuristic) assert.equal(await twiceHits(`/h-${s}`), 2, `status ${s} is not heuristically cacheable`)
  assert.equal(await twiceHits('/public-302'), 1, 'public makes any status heuristically cacheable')
  assert.equal(await twiceHits('/no-lm'), 2, 'no explicit freshness and no Last-Modified: nothing to reuse')
  assert.equal(await twiceHits('/expires-wins'), 2, 'an explicit (past) Expires leaves no room for heuristics')
})

test('invalidation (RFC 9111 §4.4): a non-error answer to an unsafe method removes the target and same-origin Location', async (t) => {
  const cc: H = [['cache-control', 'max-age=3600']]
  const write = (status: number, headers: H = []): Script => (req, n) => (req.method === 'GET' ? { headers: cc, body: `v${n}` } : { status, headers })
  const origin = await scriptedOrigin(t, {
    '/put': write(200),
    '/delete': write(204),
    '/patch': write(200),
    '/post-302': write(302, [['location', '/target']]),
    '/post-error': write(500),
    '/post-loc': write(201, [['location', '/target'], ['content-location', '/target2']]),
    '/post-foreign': write(201, [['location', 'http://elsewhere.test/foreign']]),
    '/target': twice(cc),
    '/target2': twice(cc),
    '/foreign': twice(cc),
  })
  const p = await cacheProxy(t, origin)
  const cached = async (path: string) => {
    await p.get(path)
    return (await p.get(path)).xcache === 'HIT'
  }
  for (const [path, method] of [['/put', 'PUT'], ['/delete', 'DELETE'], ['/patch', 'PATCH'], ['/post-302', 'POST']] as const) {
    assert.ok(await cached(path), path)
    const w = await p.get(path, {}, method)
    assert.equal(w.xcache, 'BYPASS')
    assert.equal((await p.get(path)).xcache, 'MISS', `${method} ${path} invalidates it`)
  }
  assert.ok(await cached('/post-error'))
  await p.get('/post-error', {}, 'POST')
  assert.equal((await p.get('/post-error')).xcache, 'HIT', 'an error answer does not invalidate')
  for (const path of ['/target', '/target2', '/foreign']) assert.ok(await cached(path), path)
  await p.get('/post-loc', {}, 'POST')
  assert.deepEqual([(await p.get('/target')).xcache, (await p.get('/target2')).xcache], ['MISS', 'MISS'])
  await p.get('/post-foreign', {}, 'POST')
  assert.equal((await p.get('/foreign')).xcache, 'HIT', 'a Location on another origin is not invalidated')
})

test('Vary: variants by normalised request values; Vary: * is never reused; two Vary lines combine', async (t) => {
  const cc: [string, string] = ['cache-control', 'max-age=3600']
  const origin = await scriptedOrigin(t, {
    '/v': (req, n) => ({ headers: [cc, ['vary', 'Foo']], body: `${req.headers['foo'] ?? '-'}${n}` }),
    '/v2': (req, n) => ({ headers: [cc, ['vary', 'Foo'], ['vary', 'Bar']], body: `${req.headers['foo'] ?? '-'}${req.headers['bar'] ?? '-'}${n}` }),
    '/star': twice([cc, ['vary', '*']]),
  })
  const p = await cacheProxy(t, origin)
  assert.equal((await p.get('/v', { foo: '1, 2' })).body, '1, 21')
  assert.deepEqual([(await p.get('/v', { foo: '1,2' })).xcache, origin.hits('/v')], ['HIT', 1], 'whitespace after commas is not a difference')
  assert.equal((await p.get('/v', { foo: '3' })).body, '32')
  assert.equal((await p.get('/v')).body, '-3')
  assert.deepEqual([(await p.get('/v', { foo: '3' })).xcache, (await p.get('/v')).xcache], ['HIT', 'HIT'])
  await p.get('/v2', { foo: '1', bar: 'a' })
  assert.equal((await p.get('/v2', { foo: '1', bar: 'a' })).xcache, 'HIT')
  assert.equal((await p.get('/v2', { foo: '1', bar: 'b' })).xcache, 'MISS', 'the second Vary line counts too')
  await p.get('/star')
  await p.get('/star')
  assert.equal(origin.hits('/star'), 2)
})

test('CDN-Cache-Control (RFC 9213) replaces Cache-Control and Expires when valid; an invalid one is ignored whole', async (t) => {
  const past = httpDate(-10)
  const cdn = (v: string): [string, string] => ['cdn-cache-control', v]
  const fresh: Record<string, H> = {
    '/cdn-max-age': [cdn('max-age=3600')],
    '/cdn-extension': [cdn('foobar, max-age=3600')],
    '/cdn-huge': [cdn('max-age=99999999999')],
    '/cdn-past-expires': [cdn('max-age=3600'), ['expires', httpDate(-10000)]],
    '/cdn-bad-expires': [cdn('max-age=3600'), ['expires', '0']],
    '/cdn-over-short-cc': [['cache-control', 'max-age=1'], cdn('max-age=3600'), ['date', past]],
    '/cdn-over-cc-no-store': [['cache-control', 'no-store'], cdn('max-age=10000')],
  }
  const notFresh: Record<string, H> = {
    '/cdn-zero': [cdn('max-age=0')],
    '/cdn-zero-future-expires': [cdn('max-age=0'), ['expires', httpDate(10000)]],
    '/cdn-under-long-cc': [['cache-control', 'max-age=3600'], cdn('max-age=1'), ['date', past]],
    '/cdn-age': [cdn('max-age=3600'), ['age', '7200']],
    '/cdn-private': [cdn('private'), ['cache-control', 'max-age=10000'], ['expires', httpDate(10000)]],
    '/cdn-no-cache': [cdn('no-cache'), ['cache-control', 'max-age=10000'], ['expires', httpDate(10000)]],
    '/cdn-no-store': [cdn('no-store'), ['cache-control', 'max-age=10000'], ['expires', httpDate(10000)]],
    '/cdn-invalid-sf': [cdn('max-age=10000, &&&&&'), ['cache-control', 'no-store']],
    '/cdn-wrong-type': [cdn('max-age="10000"'), ['cache-control', 'no-store']],
    '/cdn-uppercase-key': [cdn('MaX-aGe=3600'), ['cache-control', 'no-store']],
  }
  const scripts: Record<string, Script> = {}
  for (const [path, h] of Object.entries({ ...fresh, ...notFresh })) scripts[path] = twice(h)
  const origin = await scriptedOrigin(t, scripts)
  const p = await cacheProxy(t, origin)
  for (const path of Object.keys(fresh)) {
    const first = await p.get(path)
    assert.ok(first.headers['cdn-cache-control'] !== undefined, `${path}: CDN-Cache-Control is forwarded`)
    assert.deepEqual([(await p.get(path)).xcache, origin.hits(path)], ['HIT', 1], path)
  }
  for (const path of Object.keys(notFresh)) {
    await p.get(path)
    assert.deepEqual([(await p.get(path)).body, origin.hits(path)], ['v2', 2], path)
  }
})

test('a 304 that matches no stored validator is followed by a full fetch, answered without hop-by-hop or surrogate fields', async (t) => {
  const origin = await scriptedOrigin(t, {
    '/mismatch': (req, n) =>
      req.headers['if-none-match'] !== undefined
        ? { status: 304, headers: [['etag', '"other"']] }
        : {
            headers: [['cache-control', 'max-age=1'], ['date', httpDate(-10)], ['etag', '"e1"'], ['connection', 'x-hop'], ['x-hop', '1'], ['surrogate-control', 'max-age=1'], ['x-end', '2']],
            body: `v${n}`,
          },
  })
  const p = await cacheProxy(t, origin)
  await p.get('/mismatch')
  const r = await p.get('/mismatch')
  assert.deepEqual([r.status, r.body, r.headers['x-end'], r.headers['x-hop'], r.headers['surrogate-control']], [200, 'v3', '2', undefined, undefined])
  assert.equal(origin.hits('/mismatch'), 3)
})
