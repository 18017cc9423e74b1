// The plugin contract of src/proxy/plugin-api.ts, exercised by a test plugin: every hook is called at
// its point, can answer directly, and can add access-log fields.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { respond, type BodyObserver, type ProxyHooks, type ProxyPlugin } from '../../src/proxy/index.js'
import { agent, backend, rawExchange, startProxy, waitFor } from './_helpers.js'

test('hooks: connection, request, route, pool selection, response tee, upstream error, log', async (t) => {
  const main = await backend(t, 'main', (req, res) => {
    res.writeHead(200, { 'x-backend': 'main', 'content-type': 'text/plain' })
    res.write('chunk1-')
    res.end(`chunk2 ${req.url}`)
  })
  const alt = await backend(t, 'alt')
  const dead = await backend(t, 'dead')
  await dead.close()
  const teed: string[] = []
  const calls: string[] = []
  let closed = 0
  let previousSeen: unknown = 'unset'
  const plugin: ProxyPlugin = {
    name: 'test',
    create(ctx) {
      previousSeen = ctx.previous
      assert.deepEqual(ctx.pools.map((p) => p.name).sort(), ['alt', 'dead', 'main'])
      const hooks: ProxyHooks = {
        configureServer(server) {
          calls.push(`configure:${typeof (server as { headersTimeout?: number }).headersTimeout}`)
        },
        onConnection(conn) {
          return conn.remoteAddress !== '127.0.0.2'
        },
        onRequest(c) {
          if (c.path === '/a/../normalise-me') c.path = '/normalised'
          if (c.path === '/bad') return respond(c, 400, 'bad request\n')
          return undefined
        },
        async onRoute(c) {
          await new Promise((r) => setTimeout(r, 1))
          if (c.path === '/limited') {
            c.log.limit = 'limited'
            return respond(c, 429, 'slow down\n', { 'retry-after': '1' })
          }
          c.upstreamHeaders['x-plugin'] = 'yes'
          return undefined
        },
        selectPool(c) {
          return c.req.headers['x-region'] === 'alt' ? 'alt' : undefined
        },
        onResponse(c, r) {
          r.headers['x-cache'] = 'MISS'
          c.log.cache = 'MISS'
          const chunks: Buffer[] = []
          const observer: BodyObserver = {
            onData: (b) => chunks.push(b),
            onEnd: () => teed.push(Buffer.concat(chunks).toString()),
            onAbort: () => teed.push('aborted'),
          }
          return observer
        },
        onUpstreamError(c, _err, status) {
          c.log.cache = 'STALE'
          return respond(c, 200, `stale copy (would have been ${status})\n`, { 'x-cache': 'STALE' })
        },
        onLog(c, rec) {
          rec['region'] = c.poolName
        },
        close() {
          closed++
        },
      }
      return hooks
    },
  }
  const out = new PassThrough()
  const lines: Record<string, unknown>[] = []
  out.on('data', (c: Buffer) => {
    for (const l of c.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
  })
  const { proxy, url, port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { main: { servers: [main.url] }, alt: { servers: [alt.url] }, dead: { servers: [dead.url], retry: { attempts: 0 } } },
      routes: [
        { match: { pathPrefix: '/dead' }, pool: 'dead' },
        { match: {}, pool: 'main' },
      ],
      accessLog: { enabled: true },
    },
    { plugins: [plugin], accessLogStream: out },
  )
  assert.equal(previousSeen, undefined)
  assert.deepEqual(calls, ['configure:number'])
  const d = agent(t)

  // Raw path: undici's dispatcher API does not normalise dot segments the way URL parsing would.
  const ok = await d.request({ origin: url, path: '/a/../normalise-me', method: 'GET' })
  assert.equal(ok.headers['x-cache'], 'MISS')
  assert.equal(await ok.body.text(), 'chunk1-chunk2 /normalised')
  await waitFor(() => teed.length === 1, 2000, 'the body observer to finish')
  assert.equal(teed[0], 'chunk1-chunk2 /normalised')

  const routed = await request(`${url}/x`, { dispatcher: d, headers: { 'x-region': 'alt' } })
  const seen = (await routed.body.json()) as { name: string; headers: Record<string, string> }
  assert.equal(seen.name, 'alt')
  assert.equal(seen.headers['x-plugin'], 'yes')

  const bad = await request(`${url}/bad`, { dispatcher: d })
  assert.equal(bad.statusCode, 400)
  await bad.body.dump()
  const limited = await request(`${url}/limited`, { dispatcher: d })
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.headers['retry-after'], '1')
  await limited.body.dump()
  const stale = await request(`${url}/dead`, { dispatcher: d })
  assert.equal(stale.statusCode, 200)
  assert.equal(stale.headers['x-cache'], 'STALE')
  assert.match(await stale.body.text(), /would have been 502/)

  await waitFor(() => lines.length === 5, 2000, 'five access log lines')
  const byPath = new Map(lines.map((l) => [l['path'], l]))
  assert.equal(byPath.get('/normalised')?.['cache'], 'MISS')
  assert.equal(byPath.get('/limited')?.['limit'], 'limited')
  assert.equal(byPath.get('/limited')?.['status'], 429)
  assert.equal(byPath.get('/dead')?.['cache'], 'STALE')
  assert.equal(byPath.get('/x')?.['region'], 'alt')

  // A rejected connection never reaches the request path.
  const { connect } = await import('node:net')
  const rejected = await new Promise<string>((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'))
    let got = ''
    s.on('data', (c: Buffer) => (got += c.toString()))
    s.on('error', () => {})
    s.on('close', () => resolve(got))
  })
  assert.equal(rejected, '')
  assert.match(await rawExchange(port, 'GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'), /^HTTP\/1\.1 200/)

  // Reload: the plugin sees its previous hooks; the old generation's hooks close when it retires.
  await proxy.reload(proxy.config)
  assert.notEqual(previousSeen, undefined)
  await waitFor(() => closed === 1, 2000, 'old hooks to close')
})
