// Turning MQTT on: --mqtt-port/--mqtt-ws-port, the YAML `mqtt:` block, option validation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { brokerOptionsFromArgs } from '../../../src/cli/commands/broker.js'
import { configToOptions, parseBrokerConfig, resolveOptions } from '../../../src/broker/index.js'

test('--mqtt-port and --mqtt-ws-port map to options.mqtt; MQTT is off without them', () => {
  assert.deepEqual(brokerOptionsFromArgs(['--mqtt-port', '1883', '--mqtt-ws-port', '8083']).options.mqtt, { port: 1883, websocket: { port: 8083 } })
  assert.equal(brokerOptionsFromArgs([]).options.mqtt, undefined)
  assert.equal(resolveOptions({}).mqtt, undefined)
  assert.throws(() => brokerOptionsFromArgs(['--mqtt-ws-port', '8083']), { code: 'ERR_CLI_USAGE' })
  assert.throws(() => brokerOptionsFromArgs(['--mqtt-port', '70000']), { code: 'ERR_CLI_USAGE' })
})

test('YAML mqtt: block maps to options and resolves with defaults', () => {
  const config = parseBrokerConfig('mqtt:\n  port: 1883\n  host: 127.0.0.1\n  websocket: { port: 8083 }\n  max_inflight: 5\n')
  const o = configToOptions(config, '/', () => Buffer.alloc(0))
  assert.deepEqual(o.mqtt, { port: 1883, host: '127.0.0.1', websocket: { port: 8083 }, maxInflight: 5 })
  const r = resolveOptions(o).mqtt
  assert.deepEqual([r?.maxInflight, r?.maxQueuedMessages, r?.connectTimeoutMs], [5, 1000, 10_000])
  assert.throws(() => parseBrokerConfig('mqtt:\n  port: 1883\n  qos2: true\n'), { code: 'ERR_CONFIG_INVALID' })
  assert.throws(() => resolveOptions({ mqtt: { port: 1883, maxInflight: 0 } }), { code: 'ERR_BROKER_OPTIONS' })
})
