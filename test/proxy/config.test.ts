import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseProxyConfig } from '../../src/proxy/config.js'
import { ConfigError } from '../../src/internal/errors.js'

test('a 5-line config (one listener, one pool) is complete', () => {
  const cfg = parseProxyConfig(`listeners:
  - port: 8080
pools:
  app:
    servers: [http://127.0.0.1:3000]
`)
  assert.equal(cfg.listeners[0]?.port, 8080)
  assert.equal(cfg.listeners[0]?.protocol, 'http')
  assert.equal(cfg.pools['app']?.balance, 'round-robin')
  assert.equal(cfg.pools['app']?.retry.attempts, 2)
  assert.equal(cfg.headers.requestId, 'x-request-id')
  // The implicit route is a real route, so route-level plugin settings apply to it (issue #15 §3).
  assert.equal(cfg.routes.length, 1)
  assert.equal(cfg.routes[0]?.name, 'default')
  assert.equal(cfg.routes[0]?.pool, 'app')
  assert.deepEqual(cfg.routes[0]?.match, {})
})

test('a route to an unknown pool is refused with file:line:col and field', () => {
  try {
    parseProxyConfig(`listeners:
  - port: 8080
pools:
  app:
    servers: [http://127.0.0.1:3000]
routes:
  - pool: nope
`)
    assert.fail('expected an error')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    assert.equal(err.code, 'ERR_CONFIG_INVALID')
    assert.match(err.problems[0] ?? '', /^proxy\.yaml:7:11 routes\[0\]\.pool: expected one of the declared pools/)
  }
})

test('unknown keys and bad balancer names are refused', () => {
  assert.throws(() => parseProxyConfig('listeners: [{port: 1, prot: 2}]\npools: {a: {servers: [http://x.test]}}'), (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && /listeners\[0\]\.prot/.test(e.message))
  assert.throws(() => parseProxyConfig('listeners: [{port: 1}]\npools: {a: {servers: [http://x.test], balance: random}}'), (e: ConfigError) => /pools\.a\.balance/.test(e.message))
})

test('extension slots (limits, cache, geo, regions, acl) take the protect/cache/geo schemas', () => {
  const cfg = parseProxyConfig(`listeners: [{port: 1, limits: {maxConnectionsPerIp: 1}, acl: {deny: [10.0.0.0/8]}}]
pools: {a: {servers: [http://x.test], region: eu}}
routes: [{pool: a, cache: {enabled: true}, limits: {rate: [{rate: 5}]}}]
limits: {maxHeaders: 50}
cache: {maxObjectBytes: 2}
geo: {header: x-loc}
regions: {eu: {lat: 50, lon: 8}}
`)
  assert.throws(() => parseProxyConfig('listeners: [{port: 1}]\npools: {a: {servers: [http://x.test]}}\nlimits: {a: 1}\n'), /limits\.a/)
  assert.ok(cfg.limits !== undefined && cfg.cache !== undefined && cfg.geo !== undefined && cfg.regions !== undefined)
})
