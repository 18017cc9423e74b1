// Turning RESP on: --resp-port, the YAML `resp:` block (unknown keys refused with file:line),
// option validation (unknown or out-of-range options refused, never ignored).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { brokerOptionsFromArgs } from '../../../src/cli/commands/broker.js'
import { configToOptions, parseBrokerConfig, resolveOptions, type RespOptions } from '../../../src/broker/index.js'

test('--resp-port maps to options.resp; RESP is off without it', () => {
  assert.deepEqual(brokerOptionsFromArgs(['--resp-port', '6379']).options.resp, { port: 6379 })
  assert.equal(brokerOptionsFromArgs([]).options.resp, undefined)
  assert.equal(resolveOptions({}).resp, undefined)
  assert.throws(() => brokerOptionsFromArgs(['--resp-port', '70000']), { code: 'ERR_CLI_USAGE' })
  assert.throws(() => brokerOptionsFromArgs(['--resp-port', 'x']), { code: 'ERR_CLI_USAGE' })
})

test('YAML resp: block maps to options and resolves with defaults', () => {
  const o = configToOptions(parseBrokerConfig('resp:\n  port: 6379\n  host: 127.0.0.1\n  max_bulk: 64KiB\n  max_args: 100\n'), '/', () => Buffer.alloc(0))
  assert.deepEqual(o.resp, { port: 6379, host: '127.0.0.1', maxBulkBytes: 64 * 1024, maxArgs: 100 })
  const r = resolveOptions(configToOptions(parseBrokerConfig('resp: { port: 0 }\n'), '/', () => Buffer.alloc(0))).resp
  assert.deepEqual([r?.maxBulkBytes, r?.maxArgs], [1024 * 1024, 1024 * 1024])
})

test('a resp setting that would have no effect is refused at load, with file:line', () => {
  assert.throws(
    () => parseBrokerConfig('port: 4222\nresp:\n  port: 6379\n  unknown: 1\n', 'b.yaml'),
    (e: { code: string; message: string }) => e.code === 'ERR_CONFIG_INVALID' && e.message.includes('b.yaml:') && e.message.includes('unknown'),
  )
  assert.throws(() => parseBrokerConfig('resp: { host: x }\n', 'b.yaml'), { code: 'ERR_CONFIG_INVALID' })
  assert.throws(() => resolveOptions({ resp: { port: 6379, maxArgs: 0 } }), { code: 'ERR_BROKER_OPTIONS' })
  assert.throws(() => resolveOptions({ resp: { port: 6379, extra: true } as RespOptions }), { code: 'ERR_BROKER_OPTIONS' })
})
