import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MsgHeaders } from '../../src/broker/headers.js'
import { BrokerErrorCodes } from '../../src/broker/errors.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

test('parses a status line and repeated keys', () => {
  const h = MsgHeaders.parse(enc('NATS/1.0 503 No Responders\r\nA: 1\r\nA: 2\r\nb: x y\r\n\r\n'))
  assert.equal(h.code, 503)
  assert.equal(h.description, 'No Responders')
  assert.deepEqual(h.values('A'), ['1', '2'])
  assert.equal(h.get('a'), '1', 'case-insensitive fallback')
  assert.equal(h.get('B'), 'x y')
  assert.equal(h.has('nope'), false)
  assert.deepEqual([...h.entries()], [['A', '1'], ['A', '2'], ['b', 'x y']])
})

test('status() encodes like nats-server', () => {
  assert.equal(new TextDecoder().decode(MsgHeaders.status(503).encode()), 'NATS/1.0 503\r\n\r\n')
  assert.equal(new TextDecoder().decode(MsgHeaders.status(408, 'Request Timeout').encode()), 'NATS/1.0 408 Request Timeout\r\n\r\n')
  assert.equal(new TextDecoder().decode(new MsgHeaders().encode()), 'NATS/1.0\r\n\r\n')
})

test('set replaces, append adds, delete removes', () => {
  const h = new MsgHeaders().append('K', '1').append('K', '2')
  h.set('k', '3')
  assert.deepEqual(h.values('K'), ['3'])
  h.delete('K')
  assert.equal(h.has('K'), false)
})

test('rejects malformed blocks and unsafe names/values with ERR_BROKER_BAD_HEADERS', () => {
  for (const bad of ['HTTP/1.1 200\r\n\r\n', 'NATS/1.0 abc\r\n\r\n', 'NATS/1.0\r\nnocolon\r\n\r\n']) {
    assert.throws(() => MsgHeaders.parse(enc(bad)), (e: { code: string }) => e.code === BrokerErrorCodes.BAD_HEADERS, bad)
  }
  assert.throws(() => new MsgHeaders().set('a b', 'x'), (e: { code: string }) => e.code === BrokerErrorCodes.BAD_HEADERS)
  assert.throws(() => new MsgHeaders().set('a', 'x\r\ny'), (e: { code: string }) => e.code === BrokerErrorCodes.BAD_HEADERS)
})

test('property: encode then parse is the identity', () => {
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/)
  const value = fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim())
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }), (fields, code) => {
      const h = code === undefined ? new MsgHeaders() : MsgHeaders.status(code, 'Desc')
      for (const [k, v] of fields) h.append(k, v)
      const back = MsgHeaders.parse(h.encode())
      assert.equal(back.code, h.code)
      assert.deepEqual([...back.entries()], [...h.entries()])
    }),
    { numRuns: 200 },
  )
})
