// Leafnode configuration: YAML and startBroker({ leafnodes }) agree; settings that would have no
// effect (TLS, credentials files, accounts, authorization without a listener) are refused at load;
// no leafnodes option means no leaf listener and /varz leafnodes 0.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { configToOptions, parseBrokerConfig, resolveOptions, startBroker } from '../../../src/broker/index.js'
import { maskLeafnodes } from '../../../src/cli/commands/broker.js'

const badOption = (e: { code?: string }): boolean => e.code === 'ERR_BROKER_OPTIONS'
const badConfig = (e: { code?: string }): boolean => e.code === 'ERR_CONFIG_INVALID'

test('a YAML leafnodes block maps to the leafnodes option', () => {
  const config = parseBrokerConfig(
    'leafnodes:\n  host: 127.0.0.1\n  port: 7422\n  authorization: { user: leaf, password: s }\n  remotes:\n    - url: nats-leaf://u:p@hub:7422\n    - urls: [nats-leaf://a:7422, nats-leaf://b:7422]\n',
  )
  assert.deepEqual(configToOptions(config, '/', () => Buffer.alloc(0)).leafnodes, {
    host: '127.0.0.1',
    port: 7422,
    authorization: { user: 'leaf', password: 's' },
    remotes: [{ url: 'nats-leaf://u:p@hub:7422' }, { urls: ['nats-leaf://a:7422', 'nats-leaf://b:7422'] }],
  })
  const resolved = resolveOptions(configToOptions(config, '/', () => Buffer.alloc(0))).leafnodes
  assert.deepEqual(resolved?.remotes, [{ urls: ['nats-leaf://u:p@hub:7422'] }, { urls: ['nats-leaf://a:7422', 'nats-leaf://b:7422'] }])
})

test('YAML: TLS, credentials and accounts on leafnodes are refused', () => {
  assert.throws(() => parseBrokerConfig('leafnodes:\n  port: 7422\n  tls: { cert_file: a, key_file: b }\n'), badConfig)
  assert.throws(() => parseBrokerConfig('leafnodes:\n  remotes:\n    - url: nats-leaf://h:1\n      credentials: /x.creds\n'), badConfig)
  assert.throws(() => parseBrokerConfig('leafnodes:\n  remotes:\n    - url: nats-leaf://h:1\n      account: A\n'), badConfig)
  assert.throws(() => parseBrokerConfig('leafnodes:\n  remotes:\n    - url: nats-leaf://h:1\n      tls: { cert_file: a, key_file: b }\n'), badConfig)
})

test('resolveOptions validates the leafnodes option', () => {
  assert.equal(resolveOptions({ leafnodes: { port: 0 } }).leafnodes?.port, 0)
  assert.throws(() => resolveOptions({ leafnodes: {} }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { port: 70000 } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{}] } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'not a url' }] } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'http://h:1' }] } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'nats-leaf://h' }] } }), badOption)
  // TLS and WebSocket leafnodes are not implemented: refused, not dialled in the clear.
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'tls://h:7422' }] } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'wss://h:443' }] } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { port: 0, tls: { cert: 'c', key: 'k' } } as never }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'nats-leaf://h:1', credentials: '/x' }] } as never }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { remotes: [{ url: 'nats-leaf://h:1' }], authorization: { user: 'u', password: 'p' } } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { port: 0, authorization: { token: '' } } }), badOption)
  assert.throws(() => resolveOptions({ leafnodes: { port: 0, retryDelayMs: 0 } }), badOption)
})

test('without a leafnodes option: no leaf manager, /varz leafnodes 0, /leafz empty', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0 })
  t.after(() => b.close())
  assert.equal(b.leafs, undefined)
  const varz = (await (await fetch(`${b.monitor?.url}/varz`)).json()) as Record<string, unknown>
  assert.equal(varz.leafnodes, 0)
  assert.deepEqual(varz.leaf, {})
  const lz = (await (await fetch(`${b.monitor?.url}/leafz`)).json()) as { leafnodes: number; leafs: unknown[] }
  assert.equal(lz.leafnodes, 0)
  assert.deepEqual(lz.leafs, [])
})

test('switchyard broker --check shows leafnodes without secrets', () => {
  const shown = JSON.stringify(maskLeafnodes({ port: 7422, authorization: { user: 'leaf', password: 'pw1' }, remotes: [{ url: 'nats-leaf://u:pw2@hub:7422' }, { urls: ['nats-leaf://u:pw3@a:1', 'nats-leaf://b:2'] }] }))
  assert.ok(!/pw[123]/.test(shown), shown)
  assert.match(shown, /nats-leaf:\/\/\*\*\*@hub:7422/)
  assert.match(shown, /nats-leaf:\/\/b:2/)
})
