// GSLB: client location from the bundled GeoIP data (addresses taken from its own ranges), a
// CIDR table or a trusted header; nearest region with healthy servers; failover when a region's
// servers are killed; the /.well-known/gslb answer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { countryCentroid, countryCount } from '../../../src/proxy/geo/country-centroids.js'
import { distanceKm } from '../../../src/proxy/geo/distance.js'
import { ClientLocator, geoipReader } from '../../../src/proxy/geo/locator.js'
import { RegionSelector } from '../../../src/proxy/geo/selector.js'
import { backend, startProxy, waitFor } from '../_helpers.js'

const REGIONS = {
  'eu-west': { lat: 53.35, lon: -6.26, url: 'https://eu.example.test' },
  'us-east': { lat: 38.9, lon: -77.0, url: 'https://us.example.test' },
  'ap-northeast': { lat: 35.68, lon: 139.69, url: 'https://ap.example.test' },
}

// Addresses whose country is read from the bundled database itself (asserted below).
const GB = '81.2.69.142'
const US = '8.8.8.8'
const JP = '133.1.1.1'

test('GeoIP data, centroids and distances', () => {
  const reader = geoipReader()
  const country = (ip: string) => (reader.get(ip) as { country_code?: string } | null)?.country_code
  assert.equal(country(GB), 'GB')
  assert.equal(country(US), 'US')
  assert.equal(country(JP), 'JP')
  assert.ok(countryCount() >= 240)
  const d = distanceKm(countryCentroid('GB')!, countryCentroid('US')!)
  assert.ok(d > 5000 && d < 8000, `GB-US ${d}`)
  const loc = new ClientLocator({ sources: ['header', 'cidr', 'geoip'], header: 'x-client-location', cidrs: { '10.1.0.0/16': 'ap-northeast' }, regionNames: new Set(Object.keys(REGIONS)) })
  assert.deepEqual(loc.locate(GB, undefined, false).country, 'GB')
  assert.equal(loc.locate('10.1.2.3', undefined, false).region, 'ap-northeast')
  // The header wins when trusted, is ignored otherwise.
  assert.equal(loc.locate(GB, 'us-east', true).region, 'us-east')
  assert.equal(loc.locate(GB, 'us-east', false).country, 'GB')
  assert.deepEqual(loc.locate(GB, 'JP', true).point, countryCentroid('JP'))
  assert.deepEqual(loc.locate(GB, '48.85,2.35', true).point, { lat: 48.85, lon: 2.35 })
  assert.equal(loc.locate('192.0.2.1', undefined, false).source, 'default')
})

test('selector: nearest healthy region, then the next nearest; overload counts', () => {
  const regions = new Map(Object.entries(REGIONS).map(([name, r]) => [name, { name, ...r }]))
  const sel = new RegionSelector(
    [...regions.values()].map((r) => ({ pool: `p-${r.name}`, region: r })),
    regions,
    { maxActivePerServer: 10 },
  )
  const up = { available: 1, active: 0 }
  const gb = { source: 'geoip' as const, point: countryCentroid('GB')! }
  assert.equal(sel.pick(gb, () => up)?.region.name, 'eu-west')
  const euDown = sel.pick(gb, (p) => (p === 'p-eu-west' ? { available: 0, active: 0 } : up))
  assert.deepEqual([euDown?.region.name, euDown?.failover], ['us-east', true])
  const euBusy = sel.pick(gb, (p) => (p === 'p-eu-west' ? { available: 1, active: 10 } : up))
  assert.equal(euBusy?.region.name, 'us-east')
  assert.equal(sel.pick(gb, () => ({ available: 0, active: 0 })), undefined)
  // Unknown location: the first configured region.
  assert.equal(sel.pick({ source: 'default' }, () => up)?.region.name, 'eu-west')
})

test('through the proxy: X-Forwarded-For from a trusted proxy picks the nearest region; killing it fails over', async (t) => {
  const eu = await backend(t, 'eu')
  const us = await backend(t, 'us')
  const ap = await backend(t, 'ap')
  // A probe answered slower than timeoutMs counts as a failure; on a loaded machine 100 ms with
  // fall: 1 marked a healthy region down mid-test (seen in CI). The closed region below refuses
  // connections, which fails its probes at once, so a long timeout does not slow the failover.
  const health = { path: '/', intervalMs: 100, timeoutMs: 2000, rise: 1, fall: 2 }
  const { url, proxy } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      headers: { trustedProxies: ['127.0.0.1/32'] },
      regions: REGIONS,
      pools: {
        'web-eu': { servers: [eu.url], region: 'eu-west', healthCheck: health },
        'web-us': { servers: [us.url], region: 'us-east', healthCheck: health },
        'web-ap': { servers: [ap.url], region: 'ap-northeast', healthCheck: health },
      },
      routes: [{ pool: 'web-eu', geo: true }],
      geo: { cidrs: { '10.1.0.0/16': 'ap-northeast' } },
    },
    { plugins: builtinPlugins },
  )
  const via = async (xff: string, extra: Record<string, string> = {}) => {
    const r = await request(`${url}/x`, { headers: { 'x-forwarded-for': xff, ...extra } })
    const text = await r.body.text()
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}: ${text}`)
    const body = JSON.parse(text) as { name: string }
    return { backend: body.name, region: r.headers['x-served-region'] }
  }
  const gslb = async (xff: string) => (await (await request(`${url}/.well-known/gslb`, { headers: { 'x-forwarded-for': xff } })).body.json()) as { region: string; failover: boolean; candidates: { healthy: boolean }[] }
  // Active health checks mark servers up after the first probe.
  await waitFor(async () => (await gslb(GB)).candidates.every((c) => c.healthy), 5000, 'all regions healthy')
  assert.deepEqual(await via(GB), { backend: 'eu', region: 'eu-west' })
  assert.deepEqual(await via(US), { backend: 'us', region: 'us-east' })
  assert.deepEqual(await via(JP), { backend: 'ap', region: 'ap-northeast' })
  assert.deepEqual(await via('10.1.9.9'), { backend: 'ap', region: 'ap-northeast' })
  assert.deepEqual(await via(GB, { 'x-client-location': 'us-east' }), { backend: 'us', region: 'us-east' })
  const wk = await request(`${url}/.well-known/gslb`, { headers: { 'x-forwarded-for': GB } })
  const answer = (await wk.body.json()) as { region: string; url: string; client: { country: string }; candidates: { region: string; healthy: boolean }[] }
  assert.deepEqual([answer.region, answer.url, answer.client.country], ['eu-west', 'https://eu.example.test', 'GB'])
  assert.deepEqual(
    answer.candidates.map((c) => c.region),
    ['eu-west', 'us-east', 'ap-northeast'],
  )

  await eu.close()
  // Requests in flight when the region dies may fail until health checks or passive ejection see it.
  await waitFor(async () => (await via(GB).catch(() => undefined))?.region === 'us-east', 5000, 'failover to us-east')
  assert.deepEqual(await via(GB), { backend: 'us', region: 'us-east' })
  const wk2 = await gslb(GB)
  assert.deepEqual([wk2.region, wk2.failover], ['us-east', true])
  // Japan is unaffected.
  assert.deepEqual(await via(JP), { backend: 'ap', region: 'ap-northeast' })
  const metrics = await proxy.registry.getSingleMetricAsString('switchyard_proxy_gslb_decisions_total')
  assert.match(metrics, /region="us-east",failover="true"/)
})
