// One pipeline per request, whatever the way in (issue #15 §1): every protection (ACLs, path
// normalisation, rate limits, in-flight cap, header/body limits, smuggling shapes) x every way in
// (node:http, the fast path, Upgrade: websocket, Upgrade: h2c on a route that opts in, HTTP/2 over
// TLS). A refusal must come from the proxy with the protection's status, and the origin must never
// see the request. Plus: upgrade tokens other than websocket are refused unless a route lists them;
// upgrades are balanced with hash keys and pools chosen by selectPool like other requests.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect as h2connect } from 'node:http2'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { protectPlugin } from '../../src/proxy/protect/plugin.js'
import type { ProxyConfigInput, ProxyPlugin, ProxyServer } from '../../src/proxy/index.js'
import { startProxy, waitFor } from './_helpers.js'

interface Origin {
  url: string
  name: string
  /** Requests and upgrade handshakes that reached this origin. */
  hits: number
  held: ServerResponse[]
}

/** An origin that answers requests (200, or holds /…/slow until released) and accepts any upgrade. */
async function origin(t: TestContext, name = 'o'): Promise<Origin> {
  const o: Origin = { url: '', name, hits: 0, held: [] }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    o.hits++
    if (req.url?.endsWith('/slow') === true) {
      o.held.push(res)
      return
    }
    req.resume()
    res.writeHead(200, { 'content-length': 2, 'x-origin': name })
    res.end('ok')
  })
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    o.hits++
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nx-origin: ${name}\r\n\r\n`)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  o.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const res of o.held) res.destroy()
        server.close(() => r())
        server.closeAllConnections()
      }),
  )
  return o
}

interface Answer {
  status: number
  error: string | undefined
  head: string
}

/** Writes raw bytes on a new connection; resolves with the first response head (then closes). */
function rawHead(port: number, text: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const s = connect(port, '127.0.0.1', () => s.write(text))
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`no answer to ${JSON.stringify(text.slice(0, 60))}`))
    }, 5000)
    const done = (): void => {
      clearTimeout(timer)
      s.destroy()
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf)
      resolve({ status: m === null ? 0 : Number(m[1]), error: /x-switchyard-error: (\S+)/i.exec(buf)?.[1], head: buf.split('\r\n\r\n')[0] ?? '' })
    }
    s.setEncoding('latin1')
    s.on('data', (c: string) => {
      buf += c
      if (buf.includes('\r\n\r\n')) done()
    })
    s.on('error', () => done())
    s.on('close', () => done())
  })
}

type Way = 'node:http' | 'fast path' | 'upgrade websocket' | 'upgrade h2c' | 'http/2 tls'
const WAYS: readonly Way[] = ['node:http', 'fast path', 'upgrade websocket', 'upgrade h2c', 'http/2 tls']

interface Probe {
  path: string
  /** Extra header lines (HTTP/1.1) or fields (HTTP/2). */
  headers?: [string, string][]
  /** Raw text after the header lines (HTTP/1.1 ways). */
  body?: string
  /** Replaces the Host line (HTTP/1.1 ways). */
  hostLines?: string
}

async function certs(): Promise<{ cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-upgrade-'))
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', algorithm: 'sha256' } as Parameters<typeof generate>[1])
  const cert = join(dir, 'c.crt')
  const key = join(dir, 'c.key')
  writeFileSync(cert, pems.cert)
  writeFileSync(key, pems.private)
  return { cert, key }
}

const OPT_IN = ['websocket', 'h2c']

async function proxyFor(t: TestContext, way: Way, o: Origin, extra: Partial<ProxyConfigInput> = {}): Promise<{ send: (p: Probe) => Promise<Answer>; port: number; proxy: ProxyServer }> {
  const tls = way === 'http/2 tls' ? await certs() : undefined
  const config: ProxyConfigInput = {
    listeners: [tls === undefined ? { port: 0, address: '127.0.0.1' } : { port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [tls] } }],
    fastPath: { client: way === 'fast path', upstream: true },
    pools: { app: { servers: [o.url], outlier: { consecutive5xx: 0 } } },
    limits: { maxHeaders: 30, maxBodyBytes: 100 },
    routes: [
      { match: { pathPrefix: '/admin' }, pool: 'app', acl: { allow: ['10.20.0.0/16'] }, upgrade: OPT_IN },
      { match: { pathPrefix: '/denied' }, pool: 'app', acl: { deny: ['127.0.0.1'] }, upgrade: OPT_IN },
      { match: { pathPrefix: '/rate' }, pool: 'app', limits: { rate: [{ rate: 0.01, burst: 2 }] }, upgrade: OPT_IN },
      { name: 'inflight', match: { pathPrefix: '/inflight' }, pool: 'app', limits: { maxInflight: 1 }, upgrade: OPT_IN },
      { match: { pathPrefix: '/' }, pool: 'app', upgrade: OPT_IN },
    ],
    ...extra,
  }
  const { port, proxy } = await startProxy(t, config, { plugins: [protectPlugin] })
  if (tls !== undefined) {
    const session = h2connect(`https://localhost:${port}`, { rejectUnauthorized: false })
    t.after(() => session.close())
    const send = (p: Probe): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const fields: Record<string, string> = { ':path': p.path, ':method': p.body === undefined ? 'GET' : 'POST' }
        for (const [k, v] of p.headers ?? []) fields[k.toLowerCase()] = v
        const s = session.request(fields, { endStream: p.body === undefined })
        if (p.body !== undefined) s.end(p.body)
        s.on('response', (h) => {
          resolve({ status: Number(h[':status']), error: h['x-switchyard-error'] as string | undefined, head: JSON.stringify(h) })
          s.close()
        })
        s.on('error', reject)
      })
    session.on('error', () => {})
    return { send, port, proxy }
  }
  const upgrade =
    way === 'upgrade websocket'
      ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
      : way === 'upgrade h2c'
        ? 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'
        : 'Connection: close\r\n'
  const send = (p: Probe): Promise<Answer> => {
    const extra = (p.headers ?? []).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    const method = p.body === undefined ? 'GET' : 'POST'
    return rawHead(port, `${method} ${p.path} HTTP/1.1\r\n${p.hostLines ?? 'Host: app.test\r\n'}${upgrade}${extra}\r\n${p.body ?? ''}`)
  }
  return { send, port, proxy }
}

interface Case {
  name: string
  /** Ways the case applies to (HTTP/1.1 framing shapes do not exist in HTTP/2). */
  ways?: readonly Way[]
  run(send: (p: Probe) => Promise<Answer>, o: Origin, port: number, way: Way): Promise<{ answers: Answer[]; expect: number[] }>
}

const H1: readonly Way[] = WAYS.filter((w) => w !== 'http/2 tls')
const ok = (way: Way): number => (way.startsWith('upgrade') ? 101 : 200)
const many = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v'])

const CASES: Case[] = [
  { name: 'control: allowed request reaches the origin', run: async (send, _o, _p, way) => ({ answers: [await send({ path: '/ok' })], expect: [ok(way)] }) },
  { name: 'route ACL allow list', run: async (send) => ({ answers: [await send({ path: '/admin' })], expect: [403] }) },
  { name: 'route ACL deny list', run: async (send) => ({ answers: [await send({ path: '/denied/x' })], expect: [403] }) },
  { name: 'path normalisation: percent-encoded', run: async (send) => ({ answers: [await send({ path: '/%61dmin' })], expect: [403] }) },
  { name: 'path normalisation: dot segments', run: async (send) => ({ answers: [await send({ path: '/x/../admin' })], expect: [403] }) },
  {
    name: 'rate limit (burst 2)',
    run: async (send, _o, _p, way) => {
      const answers: Answer[] = []
      for (let i = 0; i < 4; i++) answers.push(await send({ path: '/rate' }))
      return { answers, expect: [ok(way), ok(way), 429, 429] }
    },
  },
  {
    name: 'route maxInflight 1',
    run: async (send, o, port, way) => {
      const before = o.held.length
      // The holder is a plain request on the same route that the origin does not answer yet.
      const holder = way.startsWith('upgrade') ? rawHead(port, 'GET /inflight/slow HTTP/1.1\r\nHost: a\r\n\r\n') : send({ path: '/inflight/slow' })
      await waitFor(() => o.held.length > before, 5000, 'the holder at the origin')
      const probe = await send({ path: '/inflight' })
      o.held.at(-1)?.end('done')
      await holder
      return { answers: [probe], expect: [503] }
    },
  },
  { name: 'header count limit', run: async (send) => ({ answers: [await send({ path: '/ok', headers: many(40) })], expect: [431] }) },
  { name: 'body size limit', run: async (send) => ({ answers: [await send({ path: '/ok', headers: [['content-length', '1000']], body: 'x'.repeat(1000) })], expect: [413] }) },
  { name: 'smuggling: two Host fields', ways: H1, run: async (send) => ({ answers: [await send({ path: '/ok', hostLines: 'Host: a.test\r\nHost: b.test\r\n' })], expect: [400] }) },
  { name: 'smuggling: Transfer-Encoding not chunked', ways: H1, run: async (send) => ({ answers: [await send({ path: '/ok', headers: [['Transfer-Encoding', 'xchunked']], body: '0\r\n\r\n' })], expect: [400] }) },
  {
    name: 'smuggling: CL and TE',
    ways: H1,
    run: async (send) => ({ answers: [await send({ path: '/ok', headers: [['Content-Length', '5'], ['Transfer-Encoding', 'chunked']], body: '0\r\n\r\n' })], expect: [400] }),
  },
  { name: 'smuggling: Content_Length alias', ways: H1, run: async (send) => ({ answers: [await send({ path: '/ok', headers: [['Content_Length', '5']] })], expect: [400] }) },
]

for (const way of WAYS) {
  test(`every protection holds on the way in: ${way}`, async (t) => {
    const o = await origin(t)
    const { send, port, proxy } = await proxyFor(t, way, o)
    const failures: string[] = []
    for (const c of CASES) {
      if (c.ways !== undefined && !c.ways.includes(way)) continue
      const hitsBefore = o.hits
      const heldBefore = o.held.length
      const { answers, expect } = await c.run(send, o, port, way)
      const got = answers.map((a) => a.status)
      if (JSON.stringify(got) !== JSON.stringify(expect)) failures.push(`${c.name}: expected ${expect.join(',')}, got ${got.join(',')} (${answers.map((a) => a.error ?? '-').join(',')})`)
      // Refused requests never reach the origin (holders of the in-flight case aside).
      const passed = expect.filter((s) => s < 300).length
      const reached = o.hits - hitsBefore - (o.held.length - heldBefore)
      if (reached !== passed) failures.push(`${c.name}: ${reached} request(s) reached the origin, expected ${passed}`)
    }
    assert.deepEqual(failures, [])
    // The two HTTP/1.1 ways really are two: the fast path served its requests, node:http all of its own.
    if (way === 'fast path') assert.ok(proxy.fastPathRequests > 0, 'the fast path served none of the requests')
    else assert.equal(proxy.fastPathRequests, 0, `${way} went through the fast path`)
  })
}

test('connection checks (global and listener ACL) hold on every way in', async (t) => {
  for (const way of WAYS) {
    for (const extra of [{ acl: { allow: ['10.0.0.0/8'] } }, { acl: { deny: ['127.0.0.1'] } }]) {
      const o = await origin(t)
      const { send } = await proxyFor(t, way, o, extra)
      const got = await send({ path: '/ok' }).then(
        (a) => a.status,
        () => 0,
      )
      assert.equal(got, 0, `${way} ${JSON.stringify(extra)}: the connection is refused before any answer`)
      assert.equal(o.hits, 0)
    }
  }
})

test('upgrade tokens: only websocket by default; h2c and others need the route to list them', async (t) => {
  const o = await origin(t)
  const { port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [o.url] } },
      routes: [
        { match: { pathPrefix: '/h2c' }, pool: 'app', upgrade: ['websocket', 'h2c'] },
        { match: { pathPrefix: '/' }, pool: 'app' },
      ],
    },
    { plugins: [protectPlugin] },
  )
  const up = (path: string, token: string, extra = ''): Promise<Answer> => rawHead(port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ${token}\r\n${extra}\r\n`)
  assert.equal((await up('/x', 'websocket')).status, 101)
  assert.equal((await up('/x', 'WebSocket')).status, 101)
  const hits = o.hits
  for (const token of ['h2c', 'foo', 'websocket, h2c', 'h2c/2']) {
    const a = await up('/x', token)
    assert.equal(a.status, 400, token)
    assert.equal(a.error, 'ERR_PROXY_UPGRADE_REFUSED', token)
  }
  // An upgrade with a body would hand the origin unframed bytes.
  const withBody = await up('/x', 'websocket', 'Content-Length: 3\r\n')
  assert.equal(withBody.error, 'ERR_PROXY_UPGRADE_REFUSED')
  assert.equal(o.hits, hits, 'refused upgrades never reach the origin')
  assert.equal((await up('/h2c', 'h2c')).status, 101)
  assert.equal(o.hits, hits + 1)
})

test('the issue\'s reproduction: Upgrade requests count against the global rate rule', async (t) => {
  const o = await origin(t)
  const { port } = await startProxy(
    t,
    { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [o.url] } }, limits: { rate: [{ rate: 1, burst: 2 }] }, routes: [{ match: {}, pool: 'app', upgrade: ['websocket', 'foo'] }] },
    { plugins: [protectPlugin] },
  )
  const got: number[] = []
  for (let i = 0; i < 5; i++) got.push((await rawHead(port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n')).status)
  assert.deepEqual(got, [101, 101, 429, 429, 429])
})

test('upgrades are balanced with hash keys and go to the pool selectPool picks', async (t) => {
  const a = await origin(t, 'a')
  const b = await origin(t, 'b')
  const c = await origin(t, 'c')
  const toC: ProxyPlugin = { name: 'to-c', fastPathSafe: true, create: () => ({ selectPool: (ctx) => (ctx.path.startsWith('/c') ? 'c' : undefined) }) }
  const { port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: {
        ab: { servers: [a.url, b.url], balance: { policy: 'consistent-hash', hashOn: { source: 'header', name: 'x-user' } } },
        c: { servers: [c.url] },
      },
      routes: [{ match: {}, pool: 'ab' }],
    },
    { plugins: [toC] },
  )
  const up = (path: string, user: string): Promise<Answer> => rawHead(port, `GET ${path} HTTP/1.1\r\nHost: a\r\nx-user: ${user}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`)
  for (const user of Array.from({ length: 16 }, (_, i) => `user-${i}`)) {
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) seen.add(/x-origin: (\w+)/.exec((await up('/ws', user)).head)?.[1] ?? '?')
    assert.equal(seen.size, 1, `user ${user} went to ${[...seen].join(',')}`)
  }
  assert.ok(a.hits > 0 && b.hits > 0, `hashing spreads users (a ${a.hits}, b ${b.hits})`)
  const r = await up('/c/ws', 'u1')
  assert.equal(r.status, 101)
  assert.match(r.head, /x-origin: c/)
})

test('upgrade on a sticky pool sets the cookie on the 101 and honours it; bytes sent before the 101 survive an async hook', async (t) => {
  const echo = async (name: string): Promise<string> => {
    const server = createServer((_req, res) => res.end())
    const tunnels = new Set<Socket>()
    server.on('upgrade', (_req: IncomingMessage, socket: Socket, head: Buffer) => {
      tunnels.add(socket)
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nx-origin: ${name}\r\n\r\n`)
      if (head.length > 0) socket.write(head)
      socket.on('data', (c: Buffer) => socket.write(c))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    t.after(
      () =>
        new Promise<void>((r) => {
          // Upgraded sockets are no longer the server's: closeAllConnections does not see them.
          for (const s of tunnels) s.destroy()
          server.close(() => r())
          server.closeAllConnections()
        }),
    )
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  const slowHook: ProxyPlugin = { name: 'slow', create: () => ({ onRoute: () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)) }) }
  const { port } = await startProxy(
    t,
    { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [await echo('a'), await echo('b')], sticky: { cookie: 'sy' } } } },
    { plugins: [slowHook] },
  )
  const session = (cookie: string): Promise<{ head: string; echoed: string }> =>
    new Promise((resolve, reject) => {
      let buf = ''
      // The first frame follows the head in a later packet, while the slow hook still runs.
      const s = connect(port, '127.0.0.1', () => {
        s.write(`GET /ws HTTP/1.1\r\nHost: a\r\n${cookie}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`)
        setTimeout(() => s.write('EARLY-BYTES'), 10)
      })
      const timer = setTimeout(() => {
        s.destroy()
        reject(new Error(`no echo: ${JSON.stringify(buf)}`))
      }, 5000)
      s.setEncoding('latin1')
      s.on('data', (c: string) => {
        buf += c
        const end = buf.indexOf('\r\n\r\n')
        if (end >= 0 && buf.slice(end + 4).includes('EARLY-BYTES')) {
          clearTimeout(timer)
          s.destroy()
          resolve({ head: buf.slice(0, end), echoed: buf.slice(end + 4) })
        }
      })
      s.on('error', reject)
    })
  const first = await session('')
  const cookie = /set-cookie: (sy=[^;]+)/i.exec(first.head)?.[1]
  assert.ok(cookie !== undefined, first.head)
  const pinned = /x-origin: (\w)/.exec(first.head)?.[1]
  for (let i = 0; i < 4; i++) assert.equal(/x-origin: (\w)/.exec((await session(`Cookie: ${cookie}\r\n`)).head)?.[1], pinned)
})
