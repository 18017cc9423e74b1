// Cluster configuration: flags, YAML and startBroker({ cluster }) agree; bad or ineffective
// settings are refused; no cluster means no route listener at all; /varz and /routez count routes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'nats'
import { brokerOptionsFromArgs, maskCluster } from '../../../src/cli/commands/broker.js'
import { configToOptions, parseBrokerConfig, resolveOptions, startBroker } from '../../../src/broker/index.js'
import { routeUrl, startNode, until } from './_cluster.js'

const usage = (e: { code?: string }): boolean => e.code === 'ERR_CLI_USAGE'
const badOption = (e: { code?: string }): boolean => e.code === 'ERR_BROKER_OPTIONS'

test('--cluster, --routes and --cluster-name map to the cluster option; route flags alone are refused', () => {
  const { options } = brokerOptionsFromArgs(['--cluster', 'nats://127.0.0.1:6222', '--routes', 'nats-route://10.0.0.1:6222, nats-route://u:p@10.0.0.2:6222', '--cluster-name', 'east'])
  assert.deepEqual(options.cluster, { host: '127.0.0.1', port: 6222, routes: ['nats-route://10.0.0.1:6222', 'nats-route://u:p@10.0.0.2:6222'], name: 'east' })
  assert.throws(() => brokerOptionsFromArgs(['--routes', 'nats-route://10.0.0.1:6222']), usage)
  assert.throws(() => brokerOptionsFromArgs(['--cluster-name', 'east']), usage)
  assert.throws(() => brokerOptionsFromArgs(['--cluster', 'nats://127.0.0.1:6222']), usage)
  assert.throws(() => brokerOptionsFromArgs(['--cluster', 'http://127.0.0.1:6222', '--cluster-name', 'x']), usage)
  assert.throws(() => brokerOptionsFromArgs(['--cluster', 'nats://127.0.0.1', '--cluster-name', 'x']), usage)
  assert.equal(brokerOptionsFromArgs([]).options.cluster, undefined)
  // --check prints no route secrets.
  const shown = JSON.stringify(maskCluster({ name: 'e', port: 1, routes: ['nats-route://u:pw@h:1'], authorization: { user: 'u', password: 'pw2' }, tls: { cert: 'CERT', key: 'pwKEY' } }))
  assert.ok(!shown.includes('pw'), shown)
})

test('a YAML cluster block maps to the same option (tls files read, timeout parsed); unknown keys are refused', () => {
  const config = parseBrokerConfig('cluster:\n  name: east\n  host: 127.0.0.1\n  port: 6222\n  routes: ["nats-route://10.0.0.1:6222"]\n  authorization: { user: r, password: s }\n')
  assert.deepEqual(configToOptions(config, '/', () => Buffer.alloc(0)).cluster, { name: 'east', host: '127.0.0.1', port: 6222, routes: ['nats-route://10.0.0.1:6222'], authorization: { user: 'r', password: 's' } })
  const withTls = parseBrokerConfig('cluster:\n  name: east\n  port: 6222\n  tls: { cert_file: c.pem, key_file: k.pem, ca_file: ca.pem, verify: false, timeout: 3s }\n')
  const read = (p: string) => Buffer.from(`contents of ${p}`)
  assert.deepEqual(configToOptions(withTls, '/etc/sy', read).cluster?.tls, { cert: read('/etc/sy/c.pem'), key: read('/etc/sy/k.pem'), ca: read('/etc/sy/ca.pem'), verify: false, timeoutMs: 3000 })
  assert.throws(() => parseBrokerConfig('cluster:\n  name: east\n  port: 6222\n  tls: { cert_file: a, key_file: b, pinned_certs: [x] }\n'), (e: { code?: string }) => e.code === 'ERR_CONFIG_INVALID')
  assert.throws(() => parseBrokerConfig('cluster:\n  port: 6222\n'), (e: { code?: string }) => e.code === 'ERR_CONFIG_INVALID')
})

test('resolveOptions validates the cluster option', () => {
  const ok = resolveOptions({ cluster: { name: 'x', port: 0, routes: ['nats-route://h:1'] } }).cluster
  assert.equal(ok?.name, 'x')
  assert.throws(() => resolveOptions({ cluster: { name: '', port: 0 } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'a b', port: 0 } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 70000 } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, routes: ['not a url'] } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, routes: ['http://h:1'] } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, routes: ['nats-route://h'] } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, authorization: { token: '' } } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, authorization: { user: '', password: 'p' } } }), badOption)
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, retryDelayMs: 0 } }), badOption)
  // TLS on routes: text that is not a certificate and key is refused at start-up, not at the first route.
  assert.throws(() => resolveOptions({ cluster: { name: 'x', port: 0, tls: { cert: 'c', key: 'k' } } }), badOption)
})

test('without a cluster option: no route listener, /varz routes 0, /routez empty, no connect_urls', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0 })
  t.after(() => b.close())
  assert.equal(b.cluster, undefined)
  const varz = (await (await fetch(`${b.monitor?.url}/varz`)).json()) as Record<string, unknown>
  assert.equal(varz.routes, 0)
  assert.deepEqual(varz.cluster, {})
  const rz = (await (await fetch(`${b.monitor?.url}/routez`)).json()) as { num_routes: number; routes: unknown[] }
  assert.equal(rz.num_routes, 0)
  assert.deepEqual(rz.routes, [])
  const nc = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => nc.close())
  assert.equal(nc.info?.connect_urls, undefined)
})

test('/varz counts routes and /routez lists each peer once', async (t) => {
  const a = await startNode({})
  t.after(() => a.close())
  const b = await startNode({ routes: [routeUrl(a)] })
  t.after(() => b.close())
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 5000, 'A and B routed')
  const varz = (await (await fetch(`${b.monitor?.url}/varz`)).json()) as { routes: number; cluster: { name: string; cluster_port: number } }
  assert.equal(varz.routes, 1)
  assert.equal(varz.cluster.name, 'sy-test')
  assert.equal(varz.cluster.cluster_port, b.cluster?.port)
  const rz = (await (await fetch(`${b.monitor?.url}/routez`)).json()) as { num_routes: number; routes: { remote_id: string; did_solicit: boolean; is_configured: boolean }[] }
  assert.equal(rz.num_routes, 1)
  assert.equal(rz.routes[0]?.remote_id, a.serverId)
  assert.equal(rz.routes[0]?.did_solicit, true)
  assert.equal(rz.routes[0]?.is_configured, true)
})
