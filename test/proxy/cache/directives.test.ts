// Directive parsers: Cache-Control's grammar (RFC 9111 §5.2), Surrogate-Control targeting, and
// CDN-Cache-Control as an RFC 8941 Dictionary (RFC 9213), including the inputs that must be refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseCacheControl, parseSurrogateControl } from '../../../src/proxy/cache/cache-control.js'
import { parseSfDictionary, responseControl } from '../../../src/proxy/cache/cdn-cache-control.js'

test('Cache-Control: a directive that breaks the grammar is dropped, the others stay', () => {
  const entries = (v: string) => [...parseCacheControl(v)]
  assert.deepEqual(entries('max-age =60, public'), [['public', true]])
  assert.deepEqual(entries('max-age= 60, public'), [['public', true]])
  assert.deepEqual(entries('max-age=60 junk, public'), [['public', true]])
  assert.deepEqual(entries('x="a, max-age=1", max-age=60'), [['x', 'a, max-age=1'], ['max-age', '60']])
  assert.deepEqual(entries('no-cache="unterminated, max-age=60'), [])
  assert.deepEqual(entries('No-Store , MAX-AGE=5'), [['no-store', true], ['max-age', '5']])
})

test('Surrogate-Control: ;target applies a directive only to that device', () => {
  assert.deepEqual([...parseSurrogateControl('max-age=60;switchyard')], [['max-age', '60']])
  assert.deepEqual([...parseSurrogateControl('max-age=60;other, no-store')], [['no-store', true]])
  assert.deepEqual([...parseSurrogateControl('max-age=60+30')], [['max-age', '60+30']])
})

test('CDN-Cache-Control: RFC 8941 dictionaries; invalid ones fall back to Cache-Control and Expires', () => {
  assert.deepEqual(parseSfDictionary('max-age=60, no-cache, x=?1, y="s", z=tok;p=1'), new Map<string, unknown>([['max-age', 60], ['no-cache', true], ['x', true], ['y', 's'], ['z', 'tok']]))
  for (const bad of ['MaX-aGe=1', 'max-age=1,', 'max-age=1, &&', 'a=(1 2)', 'a="\u0001"', 'a=?2', '1a=1', 'a=1 b=2']) assert.equal(parseSfDictionary(bad), undefined, bad)
  assert.deepEqual([...responseControl({ 'cdn-cache-control': 'max-age=5', 'cache-control': 'no-store', expires: '0' }).cc], [['max-age', '5']])
  assert.equal(responseControl({ 'cdn-cache-control': 'max-age=5', expires: '0' }).expires, undefined)
  assert.deepEqual([...responseControl({ 'cdn-cache-control': 'MAX-AGE=5', 'cache-control': 'no-store' }).cc], [['no-store', true]])
  assert.deepEqual([...responseControl({ 'cdn-cache-control': 'max-age=1.5' }).cc], [['max-age', 'invalid']])
})

test('the parsers never throw, whatever the bytes', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      parseCacheControl(s)
      parseSurrogateControl(s)
      parseSfDictionary(s)
      responseControl({ 'cdn-cache-control': s, 'cache-control': s })
    }),
    { numRuns: 2000 },
  )
})
