// The shared option checks (src/internal/option-check.ts) and that each wing's resolver uses them
// with its own typed error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { boolOption, fractionOption, intOption, knownKeysOnly, numberOption } from '../../src/internal/option-check.js'
import { resolveOptions as resolveBroker, BrokerError } from '../../src/broker/index.js'
import { resolveClusterOptions } from '../../src/broker/cluster/options.js'
import { JobError, JobErrorCodes } from '../../src/mapreduce/index.js'
import { resolveOptions as resolveContext } from '../../src/mapreduce/options.js'

class Refused extends Error {}
const refuse = (m: string): never => {
  throw new Refused(m)
}

test('intOption: accepts integers in range, refuses everything else with the name and the range', () => {
  assert.equal(intOption(refuse, 'port', 0, 0, 65535), 0)
  assert.equal(intOption(refuse, 'port', 65535, 0, 65535), 65535)
  assert.equal(intOption(refuse, 'n', 7, 1), 7)
  for (const bad of [-1, 65536, 1.5, Number.NaN, Infinity, '80', null, undefined, 2 ** 60]) {
    assert.throws(() => intOption(refuse, 'port', bad, 0, 65535), (e: unknown) => e instanceof Refused && /^Cannot use port .*: expected an integer from 0 to 65535$/.test((e as Error).message), String(bad))
  }
  assert.throws(() => intOption(refuse, 'n', 0, 1), /expected an integer of at least 1$/)
  assert.throws(() => intOption(refuse, 'name', 'x', 1), /Cannot use name "x"/)
})

test('numberOption and fractionOption: bounds are as documented', () => {
  assert.equal(numberOption(refuse, 'q', 0.5, 0, 1), 0.5)
  assert.throws(() => numberOption(refuse, 'q', 1.01, 0, 1), Refused)
  assert.throws(() => numberOption(refuse, 'q', Number.NaN, 0, 1), Refused)
  assert.equal(fractionOption(refuse, 'f', 1), 1)
  for (const bad of [0, -0.1, 1.0001, Number.NaN, '0.5']) assert.throws(() => fractionOption(refuse, 'f', bad), Refused, String(bad))
  assert.equal(boolOption(refuse, 'b', false), false)
  for (const bad of [0, 'true', null, undefined]) assert.throws(() => boolOption(refuse, 'b', bad), /Cannot use b .*: expected true or false/, String(bad))
})

test('knownKeysOnly: an unknown key is refused by name, known keys pass', () => {
  const known = new Set(['a', 'b'])
  knownKeysOnly(refuse, 'x', { a: 1, b: 2 }, known)
  assert.throws(() => knownKeysOnly(refuse, 'x', { a: 1, c: 3 }, known), /Cannot use x\.c: unknown option \(known: a, b\)/)
})

test('wing resolvers refuse through the shared checks with their own typed errors', () => {
  assert.throws(() => resolveBroker({ port: 70000 }), (e: unknown) => e instanceof BrokerError && e.code === 'ERR_BROKER_OPTIONS' && /Cannot use port 70000: expected an integer from 0 to 65535/.test(e.message))
  assert.throws(() => resolveBroker({ mqtt: { port: 0, qos2: true } as never }), (e: unknown) => e instanceof BrokerError && /Cannot use mqtt\.qos2: unknown option/.test(e.message))
  assert.throws(() => resolveBroker({ resp: { port: 0, maxArgs: 0 } }), (e: unknown) => e instanceof BrokerError && /Cannot use resp\.maxArgs 0/.test(e.message))
  const jobError = (re: RegExp) => (e: unknown) => e instanceof JobError && e.code === JobErrorCodes.INVALID_ARGUMENT && re.test(e.message)
  assert.throws(() => resolveContext({ workers: 0 }), jobError(/Cannot use workers 0: expected an integer of at least 1/))
  assert.throws(() => resolveContext({ spillFraction: 1.5 }), jobError(/Cannot use spillFraction 1\.5/))
  assert.throws(() => resolveContext({ fused: 'no' as never }), jobError(/Cannot use fused "no": expected true or false/))
  assert.throws(() => resolveClusterOptions({ name: 'c', port: 0, retryDelayMs: -5 } as never), (e: unknown) => e instanceof BrokerError && /Cannot use cluster\.retryDelayMs -5/.test(e.message))
})
