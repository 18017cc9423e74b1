// The fast path's character checks (field-chars.ts) and the upstream status-line parser answer
// exactly what the regular expressions they replaced answered: differential, over generated
// strings that mix the characters at every class boundary with arbitrary UTF-16.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { findHeadEnd, isFieldValue, isToken, isVisibleAscii } from '../../../src/proxy/fast/field-chars.js'
import { ResponseHead, type Headers } from '../../../src/proxy/fast/upstream-response-head.js'

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/
const PATH_RE = /^[\x21-\x7e]+$/
const STATUS_RE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/

// Characters at and around every boundary the checks draw.
const EDGES = [0x00, 0x08, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, 0x22, 0x2c, 0x2f, 0x30, 0x39, 0x3a, 0x40, 0x41, 0x5a, 0x5b, 0x5c, 0x5e, 0x60, 0x7b, 0x7c, 0x7e, 0x7f, 0x80, 0xff, 0x100, 0xd800, 0xfffd]
const edgeChar = fc.constantFrom(...EDGES.map((c) => String.fromCharCode(c)))
const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~09AZaz'.split(''))
const mixed = fc.array(fc.oneof(edgeChar, tokenChar, fc.string({ unit: 'binary', maxLength: 1 })), { maxLength: 24 }).map((a) => a.join(''))

test('isToken, isFieldValue and isVisibleAscii agree with the regular expressions they replaced', () => {
  fc.assert(
    fc.property(mixed, (s) => {
      assert.equal(isToken(s), TOKEN_RE.test(s), JSON.stringify(s))
      assert.equal(isFieldValue(s), !BAD_VALUE_RE.test(s), JSON.stringify(s))
      assert.equal(isVisibleAscii(s), PATH_RE.test(s), JSON.stringify(s))
    }),
    { numRuns: 20000 },
  )
  // Every single character, to leave no class boundary to chance.
  for (let c = 0; c < 0x10000; c++) {
    const s = String.fromCharCode(c)
    assert.equal(isToken(s), TOKEN_RE.test(s), `U+${c.toString(16)}`)
    assert.equal(isFieldValue(s), !BAD_VALUE_RE.test(s), `U+${c.toString(16)}`)
    assert.equal(isVisibleAscii(s), PATH_RE.test(s), `U+${c.toString(16)}`)
  }
  assert.equal(isToken(''), false)
  assert.equal(isVisibleAscii(''), false)
  assert.equal(isFieldValue(''), true)
})

test('the upstream status line: same verdict, status, version and reason as the regular expression', () => {
  const statusLine = fc.tuple(
    fc.constantFrom('HTTP/1.', 'HTTP/1', 'HTTP/2.', 'http/1.', 'HTTP/1.1', ''),
    fc.constantFrom('0', '1', '2', 'x', ''),
    fc.constantFrom(' ', '  ', '', '\t'),
    fc.oneof(fc.integer({ min: 0, max: 1200 }).map(String), fc.constantFrom('20', '2000', '1x0', '099', '600')),
    fc.oneof(fc.constant(''), fc.constantFrom(' OK', ' ', ' Not Found', 'OK', ' O\rK', ' a\nb', ' \u00ff', ' OK '), mixed.map((r) => ` ${r}`)),
  ).map((p) => p.join(''))
  fc.assert(
    fc.property(statusLine, fc.boolean(), (line, withFields) => {
      const text = withFields ? `${line}\r\nContent-Length: 0` : line
      const head = new ResponseHead()
      const headers: Headers = {}
      const err = head.parse(text, headers)
      const m = STATUS_RE.exec(line)
      if (m === null) {
        assert.equal(err, 'bad status line', JSON.stringify(line))
        return
      }
      assert.equal(err, undefined, JSON.stringify(line))
      assert.equal(head.status, Number(m[2]))
      assert.equal(head.http10, m[1] === '0')
      assert.equal(head.reason, m[3] ?? '')
      if (withFields) assert.equal(head.contentLength, '0')
    }),
    { numRuns: 20000 },
  )
})

test('upstream header fields: known names in their usual spellings and any other spelling land under the same lower-case key', () => {
  const head = new ResponseHead()
  const headers: Headers = {}
  const err = head.parse('HTTP/1.1 200 OK\r\nServer: a\r\nCONTENT-TYPE: b\r\nEtag: "c"\r\nX-Odd_Name: d\r\nset-cookie: e\r\nSet-Cookie: f\r\nContent-Length: 2', headers)
  assert.equal(err, undefined)
  assert.deepEqual(headers, { server: 'a', 'content-type': 'b', etag: '"c"', 'x-odd_name': 'd', 'set-cookie': ['e', 'f'], 'content-length': '2' })
  assert.equal(new ResponseHead().parse('HTTP/1.1 200 OK\r\nSer ver: a', {}), 'bad header name')
  assert.equal(new ResponseHead().parse('HTTP/1.1 200 OK\r\nServer: a\u0000', {}), 'bad header value')
  assert.equal(new ResponseHead().parse('HTTP/1.1 200 OK\r\nServer: \u0100', {}), 'bad header value')
})

test('findHeadEnd finds the first CRLFCRLF at or after `from`, as Buffer#indexOf does', () => {
  const END = Buffer.from('\r\n\r\n')
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0x0d, 0x0a, 0x41), { maxLength: 40 }), fc.nat(45), (bytes, from) => {
      const buf = Buffer.from(bytes)
      assert.equal(findHeadEnd(buf, from), buf.indexOf(END, from), `${JSON.stringify(buf.toString('latin1'))} from ${from}`)
    }),
    { numRuns: 20000 },
  )
})

// The parser as it was before field-chars.ts and the known names (regular expressions, toLowerCase
// per name), kept here as the reference the current one must agree with on every head.
function referenceParse(text: string): { err: string | undefined; headers: Headers; close: boolean; cl: string | undefined; te: string | undefined } {
  const headers: Headers = {}
  const fail = (err: string) => ({ err, headers, close: false, cl: undefined, te: undefined })
  const eol = text.indexOf('\r\n')
  if (STATUS_RE.exec(eol < 0 ? text : text.slice(0, eol)) === null) return fail('bad status line')
  let close = false
  let cl: string | undefined
  let te: string | undefined
  let pos = eol < 0 ? text.length : eol + 2
  while (pos < text.length) {
    let next = text.indexOf('\r\n', pos)
    if (next < 0) next = text.length
    const colon = text.indexOf(':', pos)
    if (colon <= pos || colon > next) return fail('bad header line')
    const name = text.slice(pos, colon)
    if (!TOKEN_RE.test(name)) return fail('bad header name')
    const value = text.slice(colon + 1, next).replace(/^[ \t]+|[ \t]+$/g, '')
    pos = next + 2
    if (BAD_VALUE_RE.test(value)) return fail('bad header value')
    const lower = name.toLowerCase()
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (cl !== undefined && cl !== value)) return fail('bad content-length')
      cl = value
      if (headers[lower] !== undefined) continue
    } else if (lower === 'transfer-encoding') {
      if (te !== undefined) return fail('repeated transfer-encoding')
      te = value.toLowerCase()
    } else if (lower === 'connection') {
      if (value.toLowerCase().split(',').some((t) => t.trim() === 'close')) close = true
    }
    const prev = headers[lower]
    headers[lower] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  return { err: undefined, headers, close, cl, te }
}

test('upstream header fields: the parser accepts, refuses and fills exactly what the regular-expression parser did', () => {
  const piece = fc.oneof(
    fc.constantFrom('Server', 'content-length', 'Content-Length', 'Connection', 'transfer-encoding', 'X-A', 'ETag', 'set-cookie', 'Ser ver', ''),
    fc.constantFrom(':', ': ', ':\t', ' ', '\t', '\r\n', '\r', '\n', '0', '12', 'close', 'keep-alive, Close', 'chunked', '\u0000', '\u007f', '\u00e9', '\u0100', 'a:b'),
    mixed,
  )
  const head = fc.array(piece, { maxLength: 16 }).map((parts) => `HTTP/1.1 200 OK\r\n${parts.join('')}`)
  const wellFormed = fc
    .array(fc.tuple(fc.constantFrom('Server', 'Content-Length', 'Connection', 'X-Y', 'Set-Cookie', 'Date'), fc.constantFrom(' a', '  b  ', '\t5\t', '', ' close', ' 5', ' x y ')), { maxLength: 6 })
    .map((fields) => `HTTP/1.1 200 OK${fields.map(([n, v]) => `\r\n${n}:${v}`).join('')}`)
  fc.assert(
    fc.property(fc.oneof(head, wellFormed), (text) => {
      const ref = referenceParse(text)
      const h = new ResponseHead()
      const headers: Headers = {}
      const err = h.parse(text, headers)
      assert.equal(err === undefined, ref.err === undefined, `${JSON.stringify(text)}: ${err} vs ${ref.err}`)
      if (err !== undefined) return
      assert.deepEqual(headers, ref.headers, JSON.stringify(text))
      assert.equal(h.close, ref.close)
      assert.equal(h.contentLength, ref.cl)
      assert.equal(h.transferEncoding, ref.te)
    }),
    { numRuns: 30000 },
  )
})
