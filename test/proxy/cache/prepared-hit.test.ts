// Cache hits served from a prepared head on the fast path (cache/prepared-hit.ts,
// FastResponse.sendPrepared): the bytes on the wire for pipelined GET / HEAD / close, Age, Vary,
// request directives, conditionals and Range, and the same fields as the generic path (node:http).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import type { ProxyPlugin } from '../../../src/proxy/plugin-api.js'
import { connect as tlsConnect } from 'node:tls'
import { backend, rawExchange, startProxy } from '../_helpers.js'
import { certFiles } from '../_tls.js'

const BODY_1K = 'x'.repeat(1024)

async function setup(t: TestContext, extraPlugins: ProxyPlugin[] = [], requestId = false, unlimitedRequests = false) {
  let hits = 0
  const seen: IncomingMessage[] = []
  const origin = await backend(t, 'origin', (req: IncomingMessage, res: ServerResponse) => {
    hits++
    seen.push(req)
    const path = req.url ?? '/'
    const vary = path.startsWith('/vary')
    const body = vary ? `enc=${String(req.headers['accept-encoding'] ?? 'none')}` : path === '/big' ? 'b'.repeat(40_000) : path === '/obj2' ? 'y'.repeat(1024) : BODY_1K
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'public, max-age=600',
      etag: '"v1"',
      'last-modified': 'Mon, 07 Dec 2026 10:00:00 GMT',
      'x-multi': ['a', 'b'],
      ...(vary ? { vary: 'Accept-Encoding' } : {}),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  const { port, proxy } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app', cache: true }],
      cache: {},
      headers: { requestId: requestId ? 'x-request-id' : false },
      ...(unlimitedRequests ? { limits: { maxRequestsPerConnection: 0 } } : {}),
    },
    { plugins: [...builtinPlugins, ...extraPlugins] },
  )
  return { port, proxy, hits: () => hits, seen }
}

/** Splits a byte stream of HTTP/1.1 responses (Content-Length framed; `heads`: the ones without a body). */
function responses(raw: string, heads: ReadonlySet<number> = new Set()): { status: number; fields: [string, string][]; body: string }[] {
  const out: { status: number; fields: [string, string][]; body: string }[] = []
  let pos = 0
  while (pos < raw.length) {
    const end = raw.indexOf('\r\n\r\n', pos)
    assert.ok(end > 0, `incomplete head at ${pos}: ${JSON.stringify(raw.slice(pos, pos + 200))}`)
    const lines = raw.slice(pos, end).split('\r\n')
    const status = Number((lines[0] as string).split(' ')[1])
    const fields = lines.slice(1).map((l) => {
      const c = l.indexOf(':')
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()] as [string, string]
    })
    const len = Number(fields.find(([n]) => n === 'content-length')?.[1] ?? 0)
    const bodyLen = heads.has(out.length) || status === 304 ? 0 : len
    out.push({ status, fields, body: raw.slice(end + 4, end + 4 + bodyLen) })
    pos = end + 4 + bodyLen
  }
  return out
}

const get = (f: [string, string][], name: string): string[] => f.filter(([n]) => n === name).map(([, v]) => v)

test('pipelined GET, HEAD and a closing GET: exact framing, fields once, Age, body bytes', async (t) => {
  const c = await setup(t)
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  const before = c.proxy.fastPathRequests
  const raw = await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\n\r\nHEAD /obj HTTP/1.1\r\nHost: a.test\r\n\r\nGET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  assert.equal(c.proxy.fastPathRequests - before, 3, 'served on the fast path')
  const rs = responses(raw, new Set([1]))
  assert.equal(rs.length, 3)
  for (const [i, r] of rs.entries()) {
    assert.equal(r.status, 200)
    assert.deepEqual(get(r.fields, 'x-cache'), ['HIT'])
    assert.deepEqual(get(r.fields, 'content-length'), ['1024'])
    assert.deepEqual(get(r.fields, 'etag'), ['"v1"'])
    assert.deepEqual(get(r.fields, 'x-multi'), ['a', 'b'])
    assert.equal(get(r.fields, 'date').length, 1)
    assert.equal(get(r.fields, 'age').length, 1)
    assert.match(get(r.fields, 'age')[0] as string, /^\d+$/)
    assert.equal(get(r.fields, 'transfer-encoding').length, 0)
    assert.deepEqual(get(r.fields, 'connection'), [i === 2 ? 'close' : 'keep-alive'])
    assert.equal(r.body, i === 1 ? '' : BODY_1K)
    // No field name twice except the repeated one the origin sent.
    const names = r.fields.map(([n]) => n).filter((n) => n !== 'x-multi')
    assert.equal(new Set(names).size, names.length, `duplicate fields in ${JSON.stringify(r.fields)}`)
  }
  assert.equal(c.hits(), 1)
})

test('Age grows with resident time (mocked clock)', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const c = await setup(t)
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  t.mock.timers.tick(42_000)
  const r = responses(await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'))[0]
  assert.deepEqual(get(r?.fields ?? [], 'x-cache'), ['HIT'])
  const age = Number(get(r?.fields ?? [], 'age')[0])
  assert.ok(age >= 42 && age <= 44, `age ${age}`)
  // Past max-age=600 the entry is stale: no prepared HIT, the origin is asked (304 or 200).
  t.mock.timers.tick(600_000)
  const before = c.hits()
  const stale = responses(await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'))[0]
  assert.equal(c.hits(), before + 1)
  assert.equal(stale?.status, 200)
})

test('Vary: each variant answers with its own body; request no-cache and max-age=0 go upstream', async (t) => {
  const c = await setup(t)
  const ask = async (enc: string, extra = '') => responses(await rawExchange(c.port, `GET /vary HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: ${enc}\r\n${extra}Connection: close\r\n\r\n`))[0]
  await ask('gzip')
  await ask('br')
  const g = await ask('gzip')
  const b = await ask('br')
  assert.deepEqual([g?.body, get(g?.fields ?? [], 'x-cache')[0]], ['enc=gzip', 'HIT'])
  assert.deepEqual([b?.body, get(b?.fields ?? [], 'x-cache')[0]], ['enc=br', 'HIT'])
  assert.equal(c.hits(), 2)
  const noCache = await ask('gzip', 'Cache-Control: no-cache\r\n')
  assert.equal(c.hits(), 3, 'request no-cache is validated upstream')
  assert.equal(noCache?.body, 'enc=gzip')
  await ask('gzip', 'Cache-Control: max-age=0\r\n')
  assert.equal(c.hits(), 4, 'request max-age=0 is validated upstream')
  await ask('gzip', 'Cache-Control: min-fresh=100000\r\n')
  assert.equal(c.hits(), 5, 'request min-fresh beyond the lifetime is validated upstream')
  await ask('gzip', 'Pragma: no-cache\r\n')
  assert.equal(c.hits(), 6, 'Pragma: no-cache without Cache-Control is validated upstream')
})

test('conditionals and Range on a stored response: 304, 206, 416, HEAD', async (t) => {
  const c = await setup(t)
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  const raw = await rawExchange(
    c.port,
    'GET /obj HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: "v1"\r\n\r\n' +
      'GET /obj HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: Mon, 07 Dec 2026 11:00:00 GMT\r\n\r\n' +
      'GET /obj HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: "other"\r\n\r\n' +
      'GET /obj HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-9\r\n\r\n' +
      'GET /obj HTTP/1.1\r\nHost: a.test\r\nRange: bytes=5000-\r\n\r\n' +
      'HEAD /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
  )
  const rs = responses(raw, new Set([5]))
  assert.deepEqual(
    rs.map((r) => r.status),
    [304, 304, 200, 206, 416, 200],
  )
  assert.equal(rs[0]?.body, '')
  assert.deepEqual(get(rs[0]?.fields ?? [], 'etag'), ['"v1"'])
  assert.equal(rs[2]?.body, BODY_1K)
  assert.equal(rs[3]?.body, 'x'.repeat(10))
  assert.deepEqual(get(rs[3]?.fields ?? [], 'content-range'), ['bytes 0-9/1024'])
  assert.deepEqual(get(rs[4]?.fields ?? [], 'content-range'), ['bytes */1024'])
  assert.deepEqual(get(rs[5]?.fields ?? [], 'content-length'), ['1024'])
  assert.equal(c.hits(), 1)
})

test('a field a hook set on the response is sent with a hit (the generic path takes it)', async (t) => {
  const tagger: ProxyPlugin = { name: 'tagger', create: () => ({ onRequest: (ctx) => void ctx.res.setHeader('x-tag', 'yes') }) }
  const c = await setup(t, [tagger])
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  const r = responses(await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'))[0]
  assert.deepEqual([get(r?.fields ?? [], 'x-cache')[0], get(r?.fields ?? [], 'x-tag')[0], r?.body], ['HIT', 'yes', BODY_1K])
})

test('the prepared hit sends the same fields as node:http does for the same hit, request id included', async (t) => {
  const c = await setup(t, [], true)
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  await rawExchange(c.port, 'GET /big HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  for (const path of ['/obj', '/big']) {
    const before = c.proxy.fastPathRequests
    const fast = responses(await rawExchange(c.port, `GET ${path} HTTP/1.1\r\nHost: a.test\r\nX-Request-Id: abc-1\r\nConnection: close\r\n\r\n`))[0]
    assert.equal(c.proxy.fastPathRequests - before, 1)
    // The fast path declines an HTTP/1.0 request: node:http serves it through the generic writer.
    const slow = responses(await rawExchange(c.port, `GET ${path} HTTP/1.0\r\nHost: a.test\r\nX-Request-Id: abc-1\r\n\r\n`))[0]
    assert.equal(c.proxy.fastPathRequests - before, 1)
    const norm = (f: [string, string][]) =>
      f
        .filter(([n]) => n !== 'date' && n !== 'connection' && n !== 'keep-alive' && n !== 'age')
        .map(([n, v]) => `${n}: ${v}`)
        .sort()
    assert.deepEqual(norm(fast?.fields ?? []), norm(slow?.fields ?? []))
    assert.deepEqual(get(fast?.fields ?? [], 'x-request-id'), ['abc-1'])
    assert.equal(fast?.body, slow?.body)
    assert.equal(fast?.body.length, path === '/big' ? 40_000 : 1024)
  }
  assert.equal(c.hits(), 2)
})

test('a client that stops reading: its queued hit keeps its bytes while other connections get hits (the shared write buffer is not reused under it)', async (t) => {
  // Unlimited requests per connection: 27 MB of answers overflow the kernel's buffers, so a write queues.
  const c = await setup(t, [], false, true)
  await rawExchange(c.port, 'GET /obj HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  await rawExchange(c.port, 'GET /obj2 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  const N = 20_000
  let text = ''
  for (let i = 0; i < N; i++) text += `GET /obj HTTP/1.1\r\nHost: a.test\r\n${i === N - 1 ? 'Connection: close\r\n' : ''}\r\n`
  let other = ''
  for (let i = 0; i < 50; i++) other += `GET /obj2 HTTP/1.1\r\nHost: a.test\r\n${i === 49 ? 'Connection: close\r\n' : ''}\r\n`
  const raw = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = connect(c.port, '127.0.0.1', () => {
      s.write(text)
      // Read nothing for a while: the proxy's writes back up into the socket's queue, and other
      // connections get hits from the same process meanwhile.
      s.pause()
      setTimeout(async () => {
        for (let i = 0; i < 5; i++) assert.ok((await rawExchange(c.port, other)).includes('y'.repeat(1024)))
        s.resume()
      }, 300)
    })
    s.on('data', (d: Buffer) => chunks.push(d))
    s.on('error', reject)
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
  })
  const rs = responses(raw)
  assert.equal(rs.length, N)
  for (const [i, r] of rs.entries()) {
    if (r.body !== BODY_1K) assert.fail(`response ${i} has the wrong body`)
  }
})

test('over TLS the prepared hit is served on the fast path with the same bytes (pipelined GET, HEAD, close)', async (t) => {
  const origin = await backend(t, 'origin', (req, res) => {
    res.writeHead(200, { 'content-length': 1024, 'cache-control': 'public, max-age=600', etag: '"v1"' })
    res.end(req.method === 'HEAD' ? undefined : BODY_1K)
  })
  const cert = await certFiles('app.test')
  const { port, proxy } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [cert] } }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app', cache: true }],
      cache: {},
      headers: { requestId: false },
    },
    { plugins: builtinPlugins },
  )
  const exchange = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = []
      const s = tlsConnect({ port, host: '127.0.0.1', servername: 'app.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write(text))
      s.on('data', (d: Buffer) => chunks.push(d))
      s.on('error', reject)
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    })
  await exchange('GET /obj HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n')
  const before = proxy.fastPathRequests
  const rs = responses(await exchange('GET /obj HTTP/1.1\r\nHost: app.test\r\n\r\nHEAD /obj HTTP/1.1\r\nHost: app.test\r\n\r\nGET /obj HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'), new Set([1]))
  assert.equal(proxy.fastPathRequests - before, 3)
  assert.deepEqual(
    rs.map((r) => [r.status, get(r.fields, 'x-cache')[0], get(r.fields, 'content-length')[0], r.body.length]),
    [
      [200, 'HIT', '1024', 1024],
      [200, 'HIT', '1024', 0],
      [200, 'HIT', '1024', 1024],
    ],
  )
  assert.equal(rs[0]?.body, BODY_1K)
  assert.equal(rs[2]?.body, BODY_1K)
})
