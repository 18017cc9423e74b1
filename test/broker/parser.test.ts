// Parser tests: one byte at a time, every split point, fast-check fuzzing (no exceptions, split
// invariance) and a corpus of nasty inputs replayed as ordinary tests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Parser } from '../../src/broker/parser.js'
import { ParseError, type ParseErrorKind, type ParserHandler } from '../../src/broker/parser-handler.js'

type Event = [string, ...unknown[]]

class Recorder implements ParserHandler {
  events: Event[] = []
  onConnect(json: string): void {
    this.events.push(['connect', json])
  }
  onPub(subject: string, reply: string, hdrLen: number, payload: Buffer): void {
    // Copy: the payload is a view valid only during the call.
    this.events.push(['pub', subject, reply, hdrLen, Buffer.from(payload).toString('latin1')])
  }
  onSub(subject: string, queue: string | undefined, sid: string): void {
    this.events.push(['sub', subject, queue, sid])
  }
  onUnsub(sid: string, max: number): void {
    this.events.push(['unsub', sid, max])
  }
  onPing(): void {
    this.events.push(['ping'])
  }
  onPong(): void {
    this.events.push(['pong'])
  }
  onParseError(kind: ParseErrorKind): void {
    this.events.push(['error', kind])
  }
}

const limits = { maxControlLine: 4096, maxPayload: 1024 * 1024 }

function parseChunks(chunks: Uint8Array[], l = limits): Event[] {
  const r = new Recorder()
  const p = new Parser(r, l)
  for (const c of chunks) p.parse(c)
  return r.events
}

const SESSION = Buffer.from(
  [
    'CONNECT {"verbose":false,"headers":true}\r\n',
    'SUB foo.* 1\r\n',
    'sub bar q 2\r\n',
    'PUB foo.bar 5\r\nhello\r\n',
    'PUB foo.bar reply.1 0\r\n\r\n',
    'HPUB foo.h 24 29\r\nNATS/1.0\r\nA: b\r\nC: d\r\n\r\nworld\r\n',
    'HPUB foo.h r 12 12\r\nNATS/1.0\r\n\r\n\r\n',
    'PUB\tbin  3\r\n\r\n\x00\r\n',
    'UNSUB 1\r\nUNSUB 2 10\r\n',
    'PING\r\nPONG\r\n',
    '+OK\r\n',
    'INFO {}\r\n',
    'pub lower 1\nx\r\n',
  ].join(''),
  'latin1',
)

const EXPECTED: Event[] = [
  ['connect', '{"verbose":false,"headers":true}'],
  ['sub', 'foo.*', undefined, '1'],
  ['sub', 'bar', 'q', '2'],
  ['pub', 'foo.bar', '', -1, 'hello'],
  ['pub', 'foo.bar', 'reply.1', -1, ''],
  ['pub', 'foo.h', '', 24, 'NATS/1.0\r\nA: b\r\nC: d\r\n\r\nworld'],
  ['pub', 'foo.h', 'r', 12, 'NATS/1.0\r\n\r\n'],
  ['pub', 'bin', '', -1, '\r\n\x00'],
  ['unsub', '1', 0],
  ['unsub', '2', 10],
  ['ping'],
  ['pong'],
  ['pub', 'lower', '', -1, 'x'],
]

test('parses a whole session in one chunk', () => {
  assert.deepEqual(parseChunks([SESSION]), EXPECTED)
})

test('one byte at a time gives the same events', () => {
  const chunks: Uint8Array[] = []
  for (let i = 0; i < SESSION.length; i++) chunks.push(SESSION.subarray(i, i + 1))
  assert.deepEqual(parseChunks(chunks), EXPECTED)
})

test('every split point gives the same events', () => {
  for (let i = 0; i <= SESSION.length; i++) {
    assert.deepEqual(parseChunks([SESSION.subarray(0, i), SESSION.subarray(i)]), EXPECTED, `split at ${i}`)
  }
})

test('payload views do not outlive the chunk: spanning payloads are copied', () => {
  const a = Buffer.from('PUB x 4\r\nab')
  const b = Buffer.from('cd\r\n')
  let seen: Buffer | undefined
  class Keeper extends Recorder {
    override onPub(_s: string, _r: string, _h: number, payload: Buffer): void {
      seen = payload
    }
  }
  const p = new Parser(new Keeper(), limits)
  p.parse(a)
  a.fill(0)
  p.parse(b)
  assert.equal(seen?.toString(), 'abcd')
})

const corpus: [string, string, Event[]][] = [
  ['unknown op', 'FOO\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['MSG from a client', 'MSG a 1 1\r\nx\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['-ERR from a client', '-ERR x\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['PUB without space', 'PUB\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['PUB too many args', 'PUB a b c d\r\n', [['error', ParseError.BAD_ARGS]]],
  ['PUB bad size', 'PUB a x\r\n', [['error', ParseError.BAD_ARGS]]],
  ['PUB negative size', 'PUB a -1\r\n', [['error', ParseError.BAD_ARGS]]],
  ['wrong byte count', 'PUB a 1\r\nxy\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['payload over max', 'PUB a 2000000\r\n', [['error', ParseError.MAX_PAYLOAD]]],
  ['HPUB header larger than total', 'HPUB a 10 5\r\n', [['error', ParseError.BAD_ARGS]]],
  ['SUB one arg', 'SUB a\r\n', [['error', ParseError.BAD_ARGS]]],
  ['SUB four args', 'SUB a b c d\r\n', [['error', ParseError.BAD_ARGS]]],
  ['UNSUB no args', 'UNSUB \r\n', [['error', ParseError.BAD_ARGS]]],
  ['UNSUB non-numeric max unsubscribes now', 'UNSUB 1 x\r\n', [['unsub', '1', 0]]],
  ['control line too long', `SUB ${'a'.repeat(5000)} 1\r\n`, [['error', ParseError.MAX_CONTROL_LINE]]],
  ['connect too long', `CONNECT {"x":"${'a'.repeat(5000)}"}\r\n`, [['error', ParseError.MAX_CONTROL_LINE]]],
  ['nothing after an error', 'FOO\r\nPING\r\n', [['error', ParseError.UNKNOWN_OP]]],
  ['empty lines are skipped', '\r\n\r\nPING\r\n', [['ping']]],
  ['bare LF line endings', 'SUB a 1\nPING\n', [['sub', 'a', undefined, '1'], ['ping']]],
  ['binary garbage', '\x00\xff\x16\x03', [['error', ParseError.UNKNOWN_OP]]],
  ['TLS hello on a plain port', '\x16\x03\x01\x02\x00\x01', [['error', ParseError.UNKNOWN_OP]]],
]

for (const [name, input, expected] of corpus) {
  test(`corpus: ${name}`, () => {
    const bytes = Buffer.from(input, 'latin1')
    assert.deepEqual(parseChunks([bytes]), expected)
    const oneByOne: Uint8Array[] = []
    for (let i = 0; i < bytes.length; i++) oneByOne.push(bytes.subarray(i, i + 1))
    assert.deepEqual(parseChunks(oneByOne), expected, 'byte by byte')
  })
}

test('a control line over the limit is rejected before it is buffered in full', () => {
  const r = new Recorder()
  const p = new Parser(r, { maxControlLine: 64, maxPayload: 1024 })
  for (let i = 0; i < 100; i++) p.parse(Buffer.from('SUB aaaaaaaaaaaaaaaaaaaa'))
  assert.deepEqual(r.events, [['error', ParseError.MAX_CONTROL_LINE]])
})

// ---- property tests ---------------------------------------------------------------------------

const token = fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'))
const payload = fc.uint8Array({ maxLength: 64 })
const op = fc.oneof(
  fc.tuple(subject, payload).map(([s, p]) => Buffer.concat([Buffer.from(`PUB ${s} ${p.length}\r\n`), p, Buffer.from('\r\n')])),
  fc.tuple(subject, subject, payload).map(([s, r, p]) => Buffer.concat([Buffer.from(`PUB ${s} ${r} ${p.length}\r\n`), p, Buffer.from('\r\n')])),
  fc.tuple(subject, token, payload).map(([s, k, p]) => {
    const h = Buffer.from(`NATS/1.0\r\n${k}: v\r\n\r\n`)
    return Buffer.concat([Buffer.from(`HPUB ${s} ${h.length} ${h.length + p.length}\r\n`), h, p, Buffer.from('\r\n')])
  }),
  fc.tuple(subject, fc.nat(999)).map(([s, sid]) => Buffer.from(`SUB ${s} ${sid}\r\n`)),
  fc.tuple(subject, token, fc.nat(999)).map(([s, q, sid]) => Buffer.from(`SUB ${s} ${q} ${sid}\r\n`)),
  fc.tuple(fc.nat(999), fc.nat(5)).map(([sid, max]) => Buffer.from(max === 0 ? `UNSUB ${sid}\r\n` : `UNSUB ${sid} ${max}\r\n`)),
  fc.constant(Buffer.from('PING\r\n')),
  fc.constant(Buffer.from('PONG\r\n')),
  fc.constant(Buffer.from('CONNECT {"verbose":false}\r\n')),
)

/** Cuts a buffer at the given (sorted, deduplicated) positions. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of points) {
    out.push(buf.subarray(prev, p))
    prev = p
  }
  out.push(buf.subarray(prev))
  return out
}

test('property: any chunking of valid ops yields the same events as one chunk', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), (ops, cuts) => {
      const whole = Buffer.concat(ops)
      const expected = parseChunks([whole])
      assert.equal(expected.filter((e) => e[0] === 'error').length, 0)
      assert.equal(expected.length, ops.length)
      assert.deepEqual(parseChunks(split(whole, cuts)), expected)
    }),
    { numRuns: 300 },
  )
})

test('property: random bytes and mangled ops never throw and are split-invariant', () => {
  const mangled = fc.tuple(fc.array(op, { maxLength: 10 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 })).map(([ops, edits]) => {
    const b = Buffer.concat(ops)
    for (const [pos, byte] of edits) if (b.length > 0) b[pos % b.length] = byte
    return b
  })
  const input = fc.oneof(mangled, fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)))
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
      const expected = parseChunks([bytes], { maxControlLine: 256, maxPayload: 4096 })
      // At most one error, and it is the last event.
      const errs = expected.filter((e) => e[0] === 'error')
      assert.ok(errs.length <= 1)
      if (errs.length === 1) assert.equal(expected[expected.length - 1]?.[0], 'error')
      assert.deepEqual(parseChunks(split(bytes, cuts), { maxControlLine: 256, maxPayload: 4096 }), expected)
    }),
    { numRuns: 1000 },
  )
})
