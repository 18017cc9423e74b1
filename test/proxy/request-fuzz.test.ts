// Acceptance of issue 22: a property test of the whole request path with every builtin plugin,
// over HTTP/1.1 (raw bytes: random methods, targets, header names and values, cookies) and HTTP/2
// (random pseudo-headers). Each request gets exactly one answer, the process survives (an
// uncaught throw would fail this test process), and afterwards no counter leaked: requests in
// flight, upstream slots per server, open client connections, and the protection layer's
// connections per IP and in-flight requests per route (both set to a small limit that a single
// leaked slot would make the closing check hit).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { connect as h2connect, type ClientHttp2Session } from 'node:http2'
import { connect as tlsConnect } from 'node:tls'
import fc from 'fast-check'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { backend, startProxy, waitFor } from './_helpers.js'
import { certFiles } from './_tls.js'

function oneShot(port: number, bytes: Buffer, tls = false): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const s: Socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write(bytes))
      : connect(port, '127.0.0.1', () => s.write(bytes))
    const timer = setTimeout(() => s.destroy(), 2000)
    let settle: NodeJS.Timeout | undefined
    s.on('data', (c: Buffer) => {
      chunks.push(c)
      // A second answer would arrive right behind the first: wait a little, not for the close.
      settle ??= setTimeout(() => s.destroy(), 300)
    })
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      clearTimeout(settle)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
  })
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)
const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PRI', 'get'), token)
const target = fc.oneof(
  fc.constantFrom('/', '*', '/a?b=%zz', '/%2e%2e/etc', '//x', 'http://app.test/x', 'https://a@b/', 'http://localhost:@evil/', '/a#f', 'app.test:443', '/\u00e9'),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  fc.string({ maxLength: 20 }),
)
const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('%zz', '', ' ', 'a.com.', 'localhost:@evil.example', '127.0.0.1:6666', 'close, host', 'chunked'), fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a).toString('latin1')))
const headerName = fc.oneof(token, fc.constantFrom('Host', 'Cookie', 'Connection', 'X_Forwarded_For', 'Forwarded', 'X-Forwarded-For', 'Expect', 'Upgrade'))

/** Connections per IP and in-flight requests per route the proxy allows: the closing check uses all of them. */
const PER_IP = 6

/**
 * Opens PER_IP connections at once to one listener, each with one request that the origin holds
 * until all PER_IP have arrived: every one is answered 200 only if no connection slot of this
 * address and no in-flight slot of the route leaked during the fuzzing.
 */
async function fullHouse(port: number, tls: boolean): Promise<string[]> {
  return Promise.all(Array.from({ length: PER_IP }, () => oneShot(port, Buffer.from('GET /hold HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n'), tls).then((t) => t.slice(0, 12))))
}

test('fuzz: random HTTP/1.1 and h2 requests through every builtin plugin get one answer each and leak nothing', async (t) => {
  let held: (() => void)[] = []
  const b = await backend(t, 'app', (req, res) => {
    req.resume()
    req.on('error', () => {})
    if (req.url !== '/hold') {
      req.on('end', () => res.end('ok'))
      return
    }
    // Held until PER_IP of them are open at once (or a second passes: then the check fails by status).
    const release = () => res.end('ok')
    held.push(release)
    const timer = setTimeout(release, 1000)
    res.on('close', () => clearTimeout(timer))
    if (held.length >= PER_IP) for (const r of held.splice(0)) r()
  })
  const certs = await certFiles()
  const { proxy } = await startProxy(
    t,
    {
      listeners: [
        { port: 0, address: '127.0.0.1', limits: { maxConnectionsPerIp: PER_IP } },
        { port: 0, address: '127.0.0.1', protocol: 'https', tls: { certs: [certs] }, keepAliveTimeoutMs: 500, limits: { maxConnectionsPerIp: PER_IP } },
      ],
      limits: { maxInflightPerRoute: PER_IP },
      pools: {
        app: { servers: [b.url], sticky: { cookie: 'sy' } },
        hashed: { servers: [b.url], balance: { policy: 'maglev', hashOn: { source: 'cookie', name: 'session' } } },
      },
      routes: [{ match: { pathPrefix: '/h' }, pool: 'hashed', cache: true }, { pool: 'app' }],
    },
    { plugins: builtinPlugins },
  )
  const [plain, tls] = proxy.listeners
  await fc.assert(
    fc.asyncProperty(method, target, fc.array(fc.tuple(headerName, value), { maxLength: 6 }), value, fc.boolean(), async (m, tgt, headers, cookie, overTls) => {
      const lines = [`${m} ${tgt} HTTP/1.1`, 'Host: app.test', `Cookie: sy=${cookie}; session=${cookie}`, ...headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close']
      const port = (overTls ? tls?.port : plain?.port) ?? 0
      const text = await oneShot(port, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), overTls)
      const answers = text.match(/^HTTP\/1\.[01] \d{3} /gm)?.length ?? 0
      // Body framing is the smuggling corpus' job (protect/smuggling.test.ts): a request declaring a
      // body the fuzzer did not send may wait for it until the client gives up; all else gets one answer.
      const waitsForBody = headers.some(([n, v]) => /^content-length$/i.test(n) && /^\s*[1-9]/.test(v)) || headers.some(([n]) => /^transfer-encoding$/i.test(n))
      assert.ok(answers === 1 || (answers === 0 && waitsForBody), `${answers} answers to ${JSON.stringify(lines)}: ${JSON.stringify(text.slice(0, 120))}`)
    }),
    { numRuns: 150 },
  )
  assert.ok(proxy.fastPathRequests > 0, 'some fuzzed requests took the fast path')
  // A session node or the proxy ended (GOAWAY after a protocol error) is replaced, so the later
  // runs still reach the proxy instead of failing in the client.
  let session: ClientHttp2Session | undefined
  const liveSession = (): ClientHttp2Session => {
    if (session === undefined || session.closed || session.destroyed) {
      const s = h2connect(`https://127.0.0.1:${tls?.port}`, { rejectUnauthorized: false })
      s.on('error', () => {})
      t.after(() => s.destroy())
      session = s
    }
    return session
  }
  let statuses = 0
  const H2_RUNS = 240
  // Most streams must be well-formed enough for nghttp2 to hand them to the proxy (it resets a
  // stream with an empty :path, a response pseudo-header or bytes outside its sets itself, before
  // any proxy code runs), so four in five draw each pseudo-header from shapes it accepts, with the
  // proxy's own edge cases among them; the rest are wild, invalid pseudo-headers included.
  const h2Method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'PRI'), fc.stringMatching(/^[A-Z]{1,8}$/))
  const h2Path = fc.oneof(fc.constantFrom('/', '*', '/a?b=%zz', '/%2e%2e/etc', '//x', '/%61dmin', '/a#f', '/h', '/h/%zz'), fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)))
  const h2Authority = fc.oneof(
    fc.constantFrom('app.test', 'App.Test.', 'app.test:8443', 'a.com.', 'localhost:@evil.example', 'user@app.test', '127.0.0.1:6666', '[::1]:8443', '[::1', 'app.test:99999', 'a..', '%zz', '_x_', '0'),
    fc.stringMatching(/^[a-z0-9.:@[\]-]{1,20}$/),
  )
  const wellFormed = fc.record(
    { ':method': h2Method, ':path': h2Path, ':authority': h2Authority, ':scheme': fc.constantFrom('https', 'http') },
    { requiredKeys: [':method', ':path', ':scheme'] },
  )
  const wild = fc.record(
    {
      ':method': method,
      ':path': fc.oneof(target, fc.constant('')),
      ':authority': value,
      ':scheme': fc.constantFrom('https', 'http', 'ftp', ''),
      // Pseudo-headers a request must not carry (RFC 9113 8.3).
      ':protocol': fc.constantFrom('websocket', 'h2c', ''),
      ':status': fc.constantFrom('200', 'x'),
    },
    { requiredKeys: [] },
  )
  const pseudo = fc.oneof({ weight: 4, arbitrary: wellFormed }, { weight: 1, arbitrary: wild })
  const h2Value = fc.oneof({ weight: 4, arbitrary: fc.oneof(fc.stringMatching(/^[ -~]{0,30}$/), fc.constantFrom('%zz', 'a.com.', 'localhost:@evil.example', 'close, host', 'chunked')) }, { weight: 1, arbitrary: value })
  await fc.assert(
    fc.asyncProperty(pseudo, fc.array(fc.tuple(headerName, h2Value), { maxLength: 4 }), h2Value, async (ph, headers, cookie) => {
      const h: Record<string, string> = { ...ph, cookie: `session=${cookie}` }
      for (const [n, v] of headers) h[n.toLowerCase()] = v
      let stream
      try {
        stream = liveSession().request(h, { endStream: true })
      } catch {
        return // node's client refused to send it
      }
      const outcome = await new Promise<string>((resolve) => {
        let n = 0
        stream.on('response', (r) => {
          n++
          statuses++
          resolve(`status ${r[':status']} (${n})`)
        })
        stream.on('error', () => resolve('reset'))
        stream.on('close', () => resolve('closed'))
        stream.resume()
      })
      assert.match(outcome, /^(status \d{3} \(1\)|reset|closed)$/)
    }),
    { numRuns: H2_RUNS },
  )
  t.diagnostic(`h2: ${statuses} of ${H2_RUNS} streams got a status`)
  // Without this the h2 half could pass while nghttp2 refuses every stream before the proxy sees it.
  // On Node 24 about 42% get a status (39-60 of 120, 98-100 of 240). At 240 runs the floor of 60
  // is some six standard deviations below the usual count; at 120 runs a floor of 40 failed a CI
  // run that got 39.
  assert.ok(statuses >= 60, `only ${statuses} of ${H2_RUNS} h2 streams reached an answer: the h2 runs tested little`)
  ;(session as ClientHttp2Session | undefined)?.close()
  await waitFor(() => proxy.generation.inflight === 0, 5000, `in-flight back to 0 (is ${proxy.generation.inflight})`)
  for (const p of proxy.generation.pools.values()) for (const s of p.servers) assert.equal(s.active, 0, `${p.name}/${s.id} upstream slots`)
  await waitFor(() => proxy.connectionCount === 0, 5000, `client connections back to 0 (is ${proxy.connectionCount})`)
  // The protection layer's own counters, by behaviour: a full house per listener must all be served.
  for (const [l, overTls] of [[plain, false], [tls, true]] as const) {
    held = []
    const answers = await fullHouse(l?.port ?? 0, overTls)
    assert.deepEqual(answers, Array(PER_IP).fill('HTTP/1.1 200'), `${overTls ? 'https' : 'http'}: ${PER_IP} connections with a request each`)
  }
})
