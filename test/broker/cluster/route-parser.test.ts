// Route parser: nats-server's route operations, one byte at a time and at every split, fast-check
// fuzzing (never throws, split invariance) and a corpus of nasty inputs that must end in an error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RouteParseError, RouteParser, type RouteParseErrorKind, type RouteParserHandler } from '../../../src/broker/cluster/route-parser.js'

type Event = unknown[]

class Recorder implements RouteParserHandler {
  events: Event[] = []
  onInfo(json: string): void {
    this.events.push(['info', json])
  }
  onConnect(json: string): void {
    this.events.push(['connect', json])
  }
  onPing(): void {
    this.events.push(['ping'])
  }
  onPong(): void {
    this.events.push(['pong'])
  }
  onOk(): void {
    this.events.push(['ok'])
  }
  onErr(text: string): void {
    this.events.push(['err', text])
  }
  onSub(account: string, subject: string, queue: string | undefined, weight: number): void {
    this.events.push(['rs+', account, subject, queue, weight])
  }
  onUnsub(account: string, subject: string, queue: string | undefined): void {
    this.events.push(['rs-', account, subject, queue])
  }
  onMsg(account: string, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    this.events.push(['msg', account, subject, reply, queues, hdrLen, Buffer.from(payload).toString('latin1')])
  }
  onParseError(kind: RouteParseErrorKind): void {
    this.events.push(['error', kind])
  }
}

const limits = { maxControlLine: 4096, maxPayload: 1024 }

function run(chunks: Buffer[]): Event[] {
  const r = new Recorder()
  const p = new RouteParser(r, limits)
  for (const c of chunks) p.parse(c)
  return r.events
}

const SCRIPT = Buffer.from(
  [
    'INFO {"server_id":"S1","cluster":"c"}',
    'CONNECT {"cluster":"c","name":"S1"}',
    'PING',
    'PONG',
    'RS+ $G foo.*',
    'RS+ $G jobs workers 3',
    'RS- $G foo.*',
    'RS- $G jobs workers',
    'RMSG $G foo.bar 5',
    'hello',
    'RMSG $G foo.bar _INBOX.1 2',
    'hi',
    'RMSG $G jobs + _INBOX.2 workers other 3',
    'abc',
    'RMSG $G jobs | workers 0',
    '',
    'HMSG $G h.x 12 14',
    'NATS/1.0\r\n\r\nok',
    "-ERR 'Unknown Protocol Operation'",
    '+OK',
    '',
  ].join('\r\n'),
)

const EXPECTED: Event[] = [
  ['info', '{"server_id":"S1","cluster":"c"}'],
  ['connect', '{"cluster":"c","name":"S1"}'],
  ['ping'],
  ['pong'],
  ['rs+', '$G', 'foo.*', undefined, 1],
  ['rs+', '$G', 'jobs', 'workers', 3],
  ['rs-', '$G', 'foo.*', undefined],
  ['rs-', '$G', 'jobs', 'workers'],
  ['msg', '$G', 'foo.bar', '', undefined, -1, 'hello'],
  ['msg', '$G', 'foo.bar', '_INBOX.1', undefined, -1, 'hi'],
  ['msg', '$G', 'jobs', '_INBOX.2', ['workers', 'other'], -1, 'abc'],
  ['msg', '$G', 'jobs', '', ['workers'], -1, ''],
  ['msg', '$G', 'h.x', '', undefined, 12, 'NATS/1.0\r\n\r\nok'],
  ['err', 'Unknown Protocol Operation'],
  ['ok'],
]

test('route operations parse as nats-server sends them', () => {
  assert.deepEqual(run([SCRIPT]), EXPECTED)
})

test('one byte at a time gives the same events', () => {
  assert.deepEqual(run([...SCRIPT].map((b) => Buffer.from([b]))), EXPECTED)
})

test('every split point gives the same events', () => {
  for (let i = 1; i < SCRIPT.length; i++) assert.deepEqual(run([SCRIPT.subarray(0, i), SCRIPT.subarray(i)]), EXPECTED, `split at ${i}`)
})

const NASTY: [string, string | Buffer, RouteParseErrorKind][] = [
  ['garbage op', 'HELLO\r\n', RouteParseError.UNKNOWN_OP],
  ['client PUB on a route', 'PUB foo 1\r\nx\r\n', RouteParseError.UNKNOWN_OP],
  ['leafnode op', 'LS+ $G foo\r\n', RouteParseError.UNKNOWN_OP],
  ['oversized line without newline', `RS+ $G ${'a'.repeat(5000)}`, RouteParseError.MAX_CONTROL_LINE],
  ['oversized line', `RS+ $G ${'a'.repeat(5000)}\r\n`, RouteParseError.MAX_CONTROL_LINE],
  ['payload over max', 'RMSG $G foo 2048\r\n', RouteParseError.MAX_PAYLOAD],
  ['size not a number', 'RMSG $G foo abc\r\n', RouteParseError.BAD_ARGS],
  ['negative size', 'RMSG $G foo -1\r\n', RouteParseError.BAD_ARGS],
  ['size as exponent', 'RMSG $G foo 1e3\r\n', RouteParseError.BAD_ARGS],
  ['huge size', 'RMSG $G foo 99999999999999999999\r\n', RouteParseError.BAD_ARGS],
  ['too few RMSG args', 'RMSG $G 5\r\n', RouteParseError.BAD_ARGS],
  ['bad reply indicator', 'RMSG $G foo x r q 1\r\n', RouteParseError.BAD_ARGS],
  ['header size over total', 'HMSG $G foo 10 5\r\n', RouteParseError.BAD_ARGS],
  ['payload without CRLF', 'RMSG $G foo 2\r\nabcd\r\n', RouteParseError.BAD_ARGS],
  ['RS+ with three args', 'RS+ $G foo q\r\n', RouteParseError.BAD_ARGS],
  ['RS+ weight zero', 'RS+ $G foo q 0\r\n', RouteParseError.BAD_ARGS],
  ['RS+ weight not a number', 'RS+ $G foo q x\r\n', RouteParseError.BAD_ARGS],
  ['RS- with no subject', 'RS- $G\r\n', RouteParseError.BAD_ARGS],
  ['INFO without JSON', 'INFO hello\r\n', RouteParseError.BAD_ARGS],
  ['binary junk', Buffer.from([0, 255, 13, 10]), RouteParseError.UNKNOWN_OP],
]

for (const [name, input, kind] of NASTY) {
  test(`nasty input ends in ${kind}: ${name}`, () => {
    const events = run([Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1')])
    assert.deepEqual(events.at(-1), ['error', kind])
    assert.equal(events.filter((e) => e[0] === 'error').length, 1, 'one error, then nothing')
  })
}

const token = fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'))
const payload = fc.uint8Array({ maxLength: 64 })
const op = fc.oneof(
  fc.tuple(subject, payload).map(([s, p]) => Buffer.concat([Buffer.from(`RMSG $G ${s} ${p.length}\r\n`), p, Buffer.from('\r\n')])),
  fc.tuple(subject, subject, fc.array(token, { maxLength: 3 }), payload).map(([s, r, q, p]) => Buffer.concat([Buffer.from(`RMSG $G ${s} + ${r} ${q.join(' ')} ${p.length}\r\n`.replace('  ', ' ')), p, Buffer.from('\r\n')])),
  fc.tuple(subject, token, fc.integer({ min: 1, max: 1000 })).map(([s, q, w]) => Buffer.from(`RS+ $G ${s} ${q} ${w}\r\n`)),
  subject.map((s) => Buffer.from(`RS- $G ${s}\r\n`)),
  fc.constant(Buffer.from('PING\r\n')),
)

test('fuzz: valid streams parse the same at any split; random bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), fc.nat(), (ops, cut) => {
      const all = Buffer.concat(ops)
      const whole = run([all])
      assert.ok(!whole.some((e) => e[0] === 'error'), JSON.stringify(whole))
      const i = cut % (all.length + 1)
      assert.deepEqual(run([all.subarray(0, i), all.subarray(i)]), whole)
    }),
    { numRuns: 300 },
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      run([Buffer.from(bytes)])
    }),
    { numRuns: 500 },
  )
})
