// What the cache keys on is exactly what is forwarded: the Host with its port, the route and pool
// the request went to; and what it stores never carries the proxy's own cookies nor, by default,
// an origin's Set-Cookie (issue 22, items 6, 8, 9).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect as h2connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { Agent, request } from 'undici'
import { resolveProxyConfig } from '../../../src/proxy/index.js'
import { cacheProxy, scriptedOrigin } from './_scripted.js'

const PUBLIC = ['cache-control', 'public, max-age=600'] as [string, string]

test('the port the client sent is forwarded, so it is part of the key', async (t) => {
  const origin = await scriptedOrigin(t, { '/p': (req) => ({ headers: [PUBLIC], body: `host=${req.headers.host}` }) })
  const p = await cacheProxy(t, origin)
  const withPort = await p.get('/p', { host: '127.0.0.1:6666' })
  assert.deepEqual([withPort.xcache, withPort.body], ['MISS', 'host=127.0.0.1:6666'])
  const plain = await p.get('/p', { host: '127.0.0.1' })
  assert.deepEqual([plain.xcache, plain.body], ['MISS', 'host=127.0.0.1'], 'a port-less request must not get the response stored for :6666')
  assert.deepEqual([(await p.get('/p', { host: '127.0.0.1:6666' })).body, (await p.get('/p', { host: '127.0.0.1' })).body], ['host=127.0.0.1:6666', 'host=127.0.0.1'])
  assert.equal(origin.hits('/p'), 2)
})

test('a trailing-dot or upper-case Host is the same name, so the same key and the same Host upstream', async (t) => {
  const origin = await scriptedOrigin(t, { '/d': (req) => ({ headers: [PUBLIC], body: `host=${req.headers.host}` }) })
  const p = await cacheProxy(t, origin)
  const first = await p.get('/d', { host: 'shop.test' })
  assert.deepEqual([first.xcache, first.body], ['MISS', 'host=shop.test'])
  for (const host of ['shop.test.', 'SHOP.Test.']) {
    const r = await p.get('/d', { host })
    assert.deepEqual([r.xcache, r.body], ['HIT', 'host=shop.test'], host)
  }
  const other = await p.get('/d', { host: 'shop.test.:6666' })
  assert.deepEqual([other.xcache, other.body], ['MISS', 'host=shop.test:6666'])
  assert.equal(origin.hits('/d'), 2)
})

test('the route and pool are part of the key: a canary route does not feed the catch-all', async (t) => {
  const main = await scriptedOrigin(t, { '/x': () => ({ headers: [PUBLIC], body: 'main' }) }, 'main')
  const canary = await scriptedOrigin(t, { '/x': () => ({ headers: [PUBLIC], body: 'canary' }) }, 'canary')
  const p = await cacheProxy(t, undefined, {
    pools: { main: { servers: [main.backend.url] }, canary: { servers: [canary.backend.url] } },
    routes: [
      { name: 'canary', match: { headers: { 'x-canary': '1' } }, pool: 'canary', cache: true },
      { name: 'main', pool: 'main', cache: true },
    ],
  })
  assert.equal((await p.get('/x', { 'x-canary': '1' })).body, 'canary')
  const plain = await p.get('/x')
  assert.deepEqual([plain.xcache, plain.body], ['MISS', 'main'])
  assert.deepEqual([(await p.get('/x')).xcache, (await p.get('/x')).body], ['HIT', 'main'])
  const c = await p.get('/x', { 'x-canary': '1' })
  assert.deepEqual([c.xcache, c.body], ['HIT', 'canary'])
  assert.deepEqual([main.hits('/x'), canary.hits('/x')], [1, 1])
})

function cookies(h: Record<string, string | string[] | undefined>): string[] {
  const v = h['set-cookie']
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

test("the proxy's own sticky cookie is never stored; the response still is", async (t) => {
  const origin = await scriptedOrigin(t, { '/s': (_r, n) => ({ headers: [PUBLIC], body: `v${n}` }) })
  const p = await cacheProxy(t, undefined, {
    pools: { app: { servers: [origin.backend.url], sticky: { cookie: 'sy' } } },
    routes: [{ pool: 'app', cache: true }],
  })
  const first = await p.get('/s')
  assert.ok(cookies(first.headers).some((c) => c.startsWith('sy=')), 'the client that reached the origin gets its sticky cookie')
  const second = await p.get('/s')
  assert.deepEqual([second.xcache, second.body], ['HIT', 'v1'])
  assert.deepEqual(cookies(second.headers), [], 'a hit must not replay the sticky cookie set for another client')
})

test('an origin Set-Cookie makes a response unstorable by default, even with public', async (t) => {
  const origin = await scriptedOrigin(t, { '/c': (_r, n) => ({ headers: [PUBLIC, ['set-cookie', `sess=user${n}`]], body: `v${n}` }) })
  const p = await cacheProxy(t, origin)
  assert.deepEqual(cookies((await p.get('/c')).headers), ['sess=user1'])
  const second = await p.get('/c')
  assert.deepEqual([second.xcache, cookies(second.headers)], ['MISS', ['sess=user2']])
  assert.equal(origin.hits('/c'), 2)
})

test('a route opts in: setCookie strip stores without the cookie, store keeps it (never the sticky one)', async (t) => {
  const origin = await scriptedOrigin(t, {
    '/strip': (_r, n) => ({ headers: [PUBLIC, ['set-cookie', `sess=user${n}`]], body: `v${n}` }),
    '/store': (_r, n) => ({ headers: [PUBLIC, ['set-cookie', `lang=en${n}`]], body: `v${n}` }),
  })
  const p = await cacheProxy(t, undefined, {
    pools: { app: { servers: [origin.backend.url], sticky: { cookie: 'sy' } } },
    routes: [
      { match: { pathPrefix: '/strip' }, pool: 'app', cache: { setCookie: 'strip' } },
      { match: { pathPrefix: '/store' }, pool: 'app', cache: { setCookie: 'store' } },
    ],
  })
  const s1 = await p.get('/strip')
  assert.ok(cookies(s1.headers).includes('sess=user1'))
  const s2 = await p.get('/strip')
  assert.deepEqual([s2.xcache, s2.body, cookies(s2.headers)], ['HIT', 'v1', []])
  await p.get('/store')
  const k2 = await p.get('/store')
  assert.deepEqual([k2.xcache, k2.body, cookies(k2.headers)], ['HIT', 'v1', ['lang=en1']])
  assert.deepEqual([origin.hits('/strip'), origin.hits('/store')], [1, 1])
})

test('a 304 with Set-Cookie reaches the revalidating client but is not stored under the default policy', async (t) => {
  const origin = await scriptedOrigin(t, {
    '/r': (req, n) =>
      req.headers['if-none-match'] === '"e1"'
        ? { status: 304, headers: [['cache-control', 'public, max-age=600'], ['etag', '"e1"'], ['set-cookie', `sess=user${n}`]] }
        : { headers: [['cache-control', 'public, max-age=0'], ['etag', '"e1"']], body: 'body' },
  })
  const p = await cacheProxy(t, origin)
  await p.get('/r')
  const v = await p.get('/r')
  assert.deepEqual([v.body, cookies(v.headers)], ['body', ['sess=user2']])
  const w = await p.get('/r')
  assert.deepEqual([w.xcache, w.body, cookies(w.headers)], ['HIT', 'body', []], 'the cookie of the previous 304 must not be replayed')
})

test('a purge without a port removes the copies stored under every port; with a port, only that one', async (t) => {
  const origin = await scriptedOrigin(t, { '/q': (req) => ({ headers: [PUBLIC], body: `host=${req.headers.host}` }) })
  const p = await cacheProxy(t, origin, { admin: { port: 0, address: '127.0.0.1' } })
  const purge = async (q: string) => {
    const r = await request(`${p.admin}/proxy/cache/purge?${q}`, { method: 'POST' })
    return (await r.body.json()) as { purged: number }
  }
  for (const host of ['shop.test', 'shop.test:6666', 'shop.test:7777']) await p.get('/q', { host })
  assert.deepEqual(await purge(`url=${encodeURIComponent('http://shop.test:6666/q')}`), { purged: 1 })
  assert.equal((await p.get('/q', { host: 'shop.test' })).xcache, 'HIT')
  assert.deepEqual(await purge(`url=${encodeURIComponent('http://shop.test/q')}`), { purged: 2 })
  assert.deepEqual(await purge(`prefix=${encodeURIComponent('http://shop.test/')}`), { purged: 0 })
  assert.equal((await p.get('/q', { host: 'shop.test:7777' })).xcache, 'MISS')
})

async function cert(name: string): Promise<{ cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cache-key-'))
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }],
  } as Parameters<typeof generate>[1])
  const files = { cert: join(dir, 'c.crt'), key: join(dir, 'c.key') }
  writeFileSync(files.cert, pems.cert)
  writeFileSync(files.key, pems.private)
  return files
}

test('HTTP/2: the :authority as sent (port, userinfo junk) is the key, so it cannot feed other clients', async (t) => {
  const origin = await scriptedOrigin(t, { '/h': (req) => ({ headers: [PUBLIC], body: `host=${req.headers.host} xfh=${req.headers['x-forwarded-host']}` }) })
  const p = await cacheProxy(t, origin, { listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [await cert('a.test')] } }] })
  // A session per request: newer nghttp2 (Node 24) resets a stream with userinfo junk in
  // :authority itself (PROTOCOL_ERROR), which also proves it cannot reach the origin or the cache.
  const h2get = (authority: string) =>
    new Promise<{ status: number; xcache: unknown; body: string }>((resolve, reject) => {
      const session = h2connect(p.url.replace('http:', 'https:'), { rejectUnauthorized: false })
      session.on('error', () => {})
      t.after(() => session.destroy())
      const s = session.request({ ':path': '/h', ':authority': authority })
      let body = ''
      let head: Record<string, unknown> = {}
      s.on('response', (h) => (head = h))
      s.setEncoding('utf8')
      s.on('data', (c: string) => (body += c))
      s.on('end', () => resolve({ status: Number(head[':status']), xcache: head['x-cache'], body }))
      s.on('error', reject)
    })
  await h2get('a.test:6666')
  // The shape (`localhost:@evil.example`): refused, so there is nothing to poison.
  for (const junk of ['a.test:@evil.example', 'localhost:@evil.example']) {
    const r = await h2get(junk).catch((err: Error & { code?: string }) => {
      if (err.code !== 'ERR_HTTP2_STREAM_ERROR') throw err
      return undefined
    })
    if (r !== undefined) assert.equal(r.status, 400, junk)
  }
  assert.equal(origin.hits('/h'), 1, 'only the :6666 request reached the origin')
  // Later clients over HTTP/1.1 (same TLS listener) and h2 get the clean answer, not a poisoned HIT.
  const d = new Agent({ connect: { rejectUnauthorized: false } })
  t.after(() => d.close())
  const h1 = await request(`${p.url.replace('http:', 'https:')}/h`, { dispatcher: d, headers: { host: 'a.test' } })
  assert.deepEqual([h1.headers['x-cache'], await h1.body.text()], ['MISS', 'host=a.test xfh=a.test'])
  const plain = await h2get('a.test')
  assert.deepEqual([plain.xcache, plain.body], ['HIT', 'host=a.test xfh=a.test'])
})

test('route cache options are checked at load: an unknown setCookie policy or a negative staleIfUnreachableSec is refused', () => {
  const base = { listeners: [{ port: 0 }], pools: { app: { servers: ['http://127.0.0.1:1'] } } }
  assert.throws(() => resolveProxyConfig({ ...base, routes: [{ pool: 'app', cache: { setCookie: 'sometimes' } }] } as never), { code: 'ERR_CONFIG_INVALID' })
  assert.throws(() => resolveProxyConfig({ ...base, cache: { staleIfUnreachableSec: -1 } } as never), { code: 'ERR_CONFIG_INVALID' })
})

test('behind a trusted proxy, the X-Forwarded-Host / -Proto it passes on are keyed; from others they are overwritten', async (t) => {
  const origin = await scriptedOrigin(t, { '/f': (req) => ({ headers: [PUBLIC], body: `xfh=${req.headers['x-forwarded-host']} xfp=${req.headers['x-forwarded-proto']}` }) })
  const trusting = await cacheProxy(t, origin, { headers: { trustedProxies: ['127.0.0.1/32'] } })
  const host = new URL(trusting.url).host
  assert.equal((await trusting.get('/f', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' })).body, 'xfh=evil.example xfp=https')
  const plain = await trusting.get('/f')
  assert.deepEqual([plain.xcache, plain.body], ['MISS', `xfh=${host} xfp=http`])
  assert.equal((await trusting.get('/f', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' })).xcache, 'HIT')
  // Control: an untrusted client's X-Forwarded-Host never reaches the origin, so it is not keyed.
  const other = await cacheProxy(t, origin)
  const otherHost = new URL(other.url).host
  assert.equal((await other.get('/f', { 'x-forwarded-host': 'evil.example' })).body, `xfh=${otherHost} xfp=http`)
  assert.deepEqual([(await other.get('/f')).xcache, (await other.get('/f')).body], ['HIT', `xfh=${otherHost} xfp=http`])
})
