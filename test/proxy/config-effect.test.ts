// Config that silently does nothing (issue #15 §3): every setting takes effect, also on the implicit
// route (no `routes:`), or is refused at load with file:line:col and a code. One group per plugin.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import type { ConfigError } from '../../src/internal/errors.js'
import { parseProxyConfig } from '../../src/proxy/index.js'
import { builtinPlugins } from '../../src/proxy/plugins.js'
import { agent, backend, startProxy } from './_helpers.js'

const BASE = `listeners: [{port: 8080}]
pools:
  app: {servers: ['http://127.0.0.1:3000']}
`

/** Asserts the YAML is refused with ERR_CONFIG_INVALID at `where` (`line:col key`) saying it has no effect. */
function refused(yaml: string, where: RegExp): void {
  assert.throws(
    () => parseProxyConfig(yaml),
    (e: ConfigError) => {
      assert.equal(e.code, 'ERR_CONFIG_INVALID')
      assert.ok(e.problems.some((p: string) => where.test(p) && /has no effect/.test(p)), e.problems.join('\n'))
      return true
    },
  )
}

test('core: the implicit route is a real route with every route default', () => {
  const cfg = parseProxyConfig(BASE)
  assert.equal(cfg.routes[0]?.name, 'default')
  assert.deepEqual(cfg.routes[0]?.upgrade, ['websocket'])
})

test('core: settings that cannot apply where they are written are refused', () => {
  refused(`listeners: [{port: 8443, protocol: https, redirectToHttps: true}]\npools: {app: {servers: ['http://127.0.0.1:3000']}}\n`, /^proxy\.yaml:1:\d+ listeners\[0\]\.redirectToHttps:/)
  refused(`listeners: [{port: 80, tls: {certs: [{cert: a.pem, key: a.key}]}}]\npools: {app: {servers: ['http://127.0.0.1:3000']}}\n`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.certs:/)
  refused(`${BASE.replace("servers: ['http://127.0.0.1:3000']", "servers: ['http://127.0.0.1:3000'], balance: {policy: round-robin, hashOn: {source: ip}}")}`, /^proxy\.yaml:3:\d+ pools\.app\.balance\.hashOn:/)
  refused(`${BASE}routes:\n  - pool: app\n    rewrite: {replacement: /x}\n`, /^proxy\.yaml:6:\d+ routes\[0\]\.rewrite\.replacement:/)
})

test('core: TLS and HTTP/2 settings where no TLS or no HTTP/2 is spoken are refused', () => {
  const pools = "pools: {app: {servers: ['http://127.0.0.1:3000']}}\n"
  refused(`listeners: [{port: 80, tls: {minVersion: TLSv1.3}}]\n${pools}`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.minVersion:/)
  refused(`listeners: [{port: 80, tls: {http2: false}}]\n${pools}`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.http2:/)
  refused(`listeners: [{port: 80, tls: {h2MaxResetsPerSec: 5}}]\n${pools}`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.h2MaxResetsPerSec:/)
  refused(`listeners: [{port: 8443, protocol: https, tls: {http2: false, h2MaxConcurrentStreams: 10}}]\n${pools}`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.h2MaxConcurrentStreams:/)
  refused(`listeners: [{port: 8443, protocol: https, tls: {http2: false, h2MaxResetsPerSec: 5}}]\n${pools}`, /^proxy\.yaml:1:\d+ listeners\[0\]\.tls\.h2MaxResetsPerSec:/)
  // Taking effect: the same settings on an https listener that speaks h2.
  parseProxyConfig(`listeners: [{port: 8443, protocol: https, tls: {minVersion: TLSv1.3, h2MaxConcurrentStreams: 10, h2MaxResetsPerSec: 5}}]\n${pools}`)
  parseProxyConfig(`listeners: [{port: 8443, protocol: https, tls: {http2: false}}]\n${pools}`)
})

test('protect: rate rules whose key/header do not fit, and a rate store without rules, are refused', () => {
  refused(`${BASE}limits:\n  rate: [{rate: 5, key: header}]\n`, /^proxy\.yaml:5:\d+ limits\.rate\[0\]\.key:/)
  refused(`${BASE}limits:\n  rate: [{rate: 5, header: x-user}]\n`, /^proxy\.yaml:5:\d+ limits\.rate\[0\]\.header:/)
  refused(`${BASE}routes:\n  - pool: app\n    limits: {rate: [{rate: 5, key: header}]}\n`, /^proxy\.yaml:6:\d+ routes\[0\]\.limits\.rate\[0\]\.key:/)
  refused(`${BASE}limits:\n  rateStore: {type: memory}\n`, /^proxy\.yaml:5:\d+ limits\.rateStore:/)
  // The same settings in a form that takes effect load fine.
  parseProxyConfig(`${BASE}limits:\n  rate: [{rate: 5, key: header, header: x-user}]\n  rateStore: {type: memory}\n`)
})

test('protect: route-level limits of the implicit route take effect (global rate rules)', async (t) => {
  const b = await backend(t, 'a')
  const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, limits: { rate: [{ rate: 0.01, burst: 2 }] } }, { plugins: builtinPlugins })
  const d = agent(t)
  const got: number[] = []
  for (let i = 0; i < 3; i++) {
    const r = await request(`${url}/x`, { dispatcher: d })
    await r.body.dump()
    got.push(r.statusCode)
  }
  assert.deepEqual(got, [200, 200, 429])
})

test('cache: cache.allRoutes with no routes caches on the implicit route', async (t) => {
  let hits = 0
  const b = await backend(t, 'a', (_req, res) => {
    hits++
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': 5 })
    res.end('hello')
  })
  const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, cache: { allRoutes: true } }, { plugins: builtinPlugins })
  const d = agent(t)
  for (let i = 0; i < 3; i++) {
    const r = await request(`${url}/page`, { dispatcher: d })
    assert.equal(await r.body.text(), 'hello')
  }
  assert.equal(hits, 1, 'the second and third GET are cache hits')
})

test('cache: a cache section that no route uses is refused', () => {
  refused(`${BASE}routes:\n  - pool: app\ncache: {maxObjectBytes: 2}\n`, /^proxy\.yaml:6:\d+ cache:/)
  refused(`${BASE}routes:\n  - pool: app\n    cache: false\ncache: {allRoutes: true}\n`, /^proxy\.yaml:7:\d+ cache:/)
  // Taking effect: the implicit route with allRoutes, or a route that opts in.
  parseProxyConfig(`${BASE}cache: {allRoutes: true}\n`)
  parseProxyConfig(`${BASE}routes:\n  - pool: app\n    cache: true\ncache: {maxObjectBytes: 2}\n`)
})

test('geo: geo, regions and routes[].geo without any pool region are refused', () => {
  refused(`${BASE}geo: {header: x-loc}\n`, /^proxy\.yaml:4:\d+ geo:/)
  refused(`${BASE}regions: {eu: {lat: 50, lon: 8}}\n`, /^proxy\.yaml:4:\d+ regions:/)
  refused(`${BASE}routes:\n  - pool: app\n    geo: true\n`, /^proxy\.yaml:6:\d+ routes\[0\]\.geo:/)
  parseProxyConfig(`listeners: [{port: 8080}]\npools:\n  app: {servers: ['http://127.0.0.1:3000'], region: eu}\nregions: {eu: {lat: 50, lon: 8}}\ngeo: {header: x-loc}\nroutes:\n  - pool: app\n    geo: true\n`)
})
