// Leafnode parser: nats-server's leafnode operations, one byte at a time and at every split,
// fast-check fuzzing (never throws, split invariance, round trip of what Leaf.sendMsg writes) and
// a corpus of nasty inputs that must end in exactly one error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { LeafParseError, LeafParser, type LeafParseErrorKind, type LeafParserHandler } from '../../../src/broker/cluster/leaf-parser.js'

type Event = unknown[]

class Recorder implements LeafParserHandler {
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
  onSub(subject: string, queue: string | undefined, weight: number): void {
    this.events.push(['ls+', subject, queue, weight])
  }
  onUnsub(subject: string, queue: string | undefined): void {
    this.events.push(['ls-', subject, queue])
  }
  onMsg(subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    this.events.push(['msg', subject, reply, queues, hdrLen, Buffer.from(payload).toString('latin1')])
  }
  onParseError(kind: LeafParseErrorKind): void {
    this.events.push(['error', kind])
  }
}

const limits = { maxControlLine: 4096, maxPayload: 1024 }

function run(chunks: Buffer[]): Event[] {
  const r = new Recorder()
  const p = new LeafParser(r, limits)
  for (const c of chunks) p.parse(c)
  return r.events
}

const SCRIPT = Buffer.from(
  [
    'INFO {"server_id":"S1","leafnode_urls":["127.0.0.1:7422"],"client_id":3}',
    'CONNECT {"server_id":"S2","name":"leaf","headers":true}',
    'PING',
    'PONG',
    'LS+ foo.*',
    'LS+ jobs workers 3',
    'LS- foo.*',
    'LS- jobs workers',
    'LMSG foo.bar 5',
    'hello',
    'LMSG foo.bar _INBOX.1 2',
    'hi',
    'LMSG jobs + _INBOX.2 workers other 3',
    'abc',
    'LMSG jobs | workers 0',
    '',
    'HMSG h.x 12 14',
    'NATS/1.0\r\n\r\nok',
    'HMSG h.y _R.1 12 12',
    'NATS/1.0\r\n\r\n',
    "-ERR 'Authorization Violation'",
    '+OK',
    '',
  ].join('\r\n'),
)

const EXPECTED: Event[] = [
  ['info', '{"server_id":"S1","leafnode_urls":["127.0.0.1:7422"],"client_id":3}'],
  ['connect', '{"server_id":"S2","name":"leaf","headers":true}'],
  ['ping'],
  ['pong'],
  ['ls+', 'foo.*', undefined, 1],
  ['ls+', 'jobs', 'workers', 3],
  ['ls-', 'foo.*', undefined],
  ['ls-', 'jobs', 'workers'],
  ['msg', 'foo.bar', '', undefined, -1, 'hello'],
  ['msg', 'foo.bar', '_INBOX.1', undefined, -1, 'hi'],
  ['msg', 'jobs', '_INBOX.2', ['workers', 'other'], -1, 'abc'],
  ['msg', 'jobs', '', ['workers'], -1, ''],
  ['msg', 'h.x', '', undefined, 12, 'NATS/1.0\r\n\r\nok'],
  ['msg', 'h.y', '_R.1', undefined, 12, 'NATS/1.0\r\n\r\n'],
  ['err', 'Authorization Violation'],
  ['ok'],
]

test('leafnode operations parse as nats-server sends them', () => {
  assert.deepEqual(run([SCRIPT]), EXPECTED)
})

test('one byte at a time gives the same events', () => {
  assert.deepEqual(run([...SCRIPT].map((b) => Buffer.from([b]))), EXPECTED)
})

test('every split point gives the same events', () => {
  for (let i = 1; i < SCRIPT.length; i++) assert.deepEqual(run([SCRIPT.subarray(0, i), SCRIPT.subarray(i)]), EXPECTED, `split at ${i}`)
})

const NASTY: [string, string | Buffer, LeafParseErrorKind][] = [
  ['garbage op', 'HELLO\r\n', LeafParseError.UNKNOWN_OP],
  ['client PUB on a leaf', 'PUB foo 1\r\nx\r\n', LeafParseError.UNKNOWN_OP],
  ['route op', 'RS+ $G foo\r\n', LeafParseError.UNKNOWN_OP],
  ['route message', 'RMSG $G foo 1\r\nx\r\n', LeafParseError.UNKNOWN_OP],
  ['oversized line without newline', `LS+ ${'a'.repeat(5000)}`, LeafParseError.MAX_CONTROL_LINE],
  ['oversized line', `LS+ ${'a'.repeat(5000)}\r\n`, LeafParseError.MAX_CONTROL_LINE],
  ['payload over max', 'LMSG foo 2048\r\n', LeafParseError.MAX_PAYLOAD],
  ['size not a number', 'LMSG foo abc\r\n', LeafParseError.BAD_ARGS],
  ['negative size', 'LMSG foo -1\r\n', LeafParseError.BAD_ARGS],
  ['size as exponent', 'LMSG foo 1e3\r\n', LeafParseError.BAD_ARGS],
  ['huge size', 'LMSG foo 99999999999999999999\r\n', LeafParseError.BAD_ARGS],
  ['too few LMSG args', 'LMSG 5\r\n', LeafParseError.BAD_ARGS],
  ['too few HMSG args', 'HMSG foo 5\r\n', LeafParseError.BAD_ARGS],
  ['bad reply indicator', 'LMSG foo x r q 1\r\n', LeafParseError.BAD_ARGS],
  ['header size over total', 'HMSG foo 10 5\r\n', LeafParseError.BAD_ARGS],
  ['payload without CRLF', 'LMSG foo 2\r\nabcd\r\n', LeafParseError.BAD_ARGS],
  ['LS+ with two args', 'LS+ foo q\r\n', LeafParseError.BAD_ARGS],
  ['LS+ with no subject', 'LS+\r\n', LeafParseError.BAD_ARGS],
  ['LS+ weight zero', 'LS+ foo q 0\r\n', LeafParseError.BAD_ARGS],
  ['LS+ weight not a number', 'LS+ foo q x\r\n', LeafParseError.BAD_ARGS],
  ['LS- with no subject', 'LS-\r\n', LeafParseError.BAD_ARGS],
  ['LS- with three args', 'LS- a b c\r\n', LeafParseError.BAD_ARGS],
  ['INFO without JSON', 'INFO hello\r\n', LeafParseError.BAD_ARGS],
  ['binary junk', Buffer.from([0, 255, 13, 10]), LeafParseError.UNKNOWN_OP],
]

for (const [name, input, kind] of NASTY) {
  test(`nasty leaf input ends in ${kind}: ${name}`, () => {
    const events = run([Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1')])
    assert.deepEqual(events.at(-1), ['error', kind])
    assert.equal(events.filter((e) => e[0] === 'error').length, 1, 'one error, then nothing')
  })
}

const token = fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'))
const payload = fc.uint8Array({ maxLength: 64 })

/** A message as Leaf.sendMsg frames it, and the event the parser must report for it. */
const msg = fc.tuple(subject, fc.option(subject, { nil: '' }), fc.option(fc.array(token, { minLength: 1, maxLength: 3 }), { nil: undefined }), fc.option(fc.nat({ max: 64 }), { nil: -1 }), payload).map(([s, reply, queues, hdr, p]) => {
  const hdrLen = Math.min(hdr, p.length)
  let mid = ''
  if (queues !== undefined) mid = reply === '' ? ` | ${queues.join(' ')}` : ` + ${reply} ${queues.join(' ')}`
  else if (reply !== '') mid = ` ${reply}`
  const head = hdrLen >= 0 ? `HMSG ${s}${mid} ${hdrLen} ${p.length}\r\n` : `LMSG ${s}${mid} ${p.length}\r\n`
  return { bytes: Buffer.concat([Buffer.from(head), p, Buffer.from('\r\n')]), event: ['msg', s, reply, queues, hdrLen, Buffer.from(p).toString('latin1')] as Event }
})
const op = fc.oneof(
  msg,
  fc.tuple(subject, token, fc.integer({ min: 1, max: 1000 })).map(([s, q, w]) => ({ bytes: Buffer.from(`LS+ ${s} ${q} ${w}\r\n`), event: ['ls+', s, q, w] as Event })),
  subject.map((s) => ({ bytes: Buffer.from(`LS+ ${s}\r\n`), event: ['ls+', s, undefined, 1] as Event })),
  subject.map((s) => ({ bytes: Buffer.from(`LS- ${s}\r\n`), event: ['ls-', s, undefined] as Event })),
  fc.constant({ bytes: Buffer.from('PING\r\n'), event: ['ping'] as Event }),
)

test('fuzz: framed operations round-trip at any split; random bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), fc.nat(), (ops, cut) => {
      const all = Buffer.concat(ops.map((o) => o.bytes))
      const whole = run([all])
      assert.deepEqual(whole, ops.map((o) => o.event))
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
  fc.assert(
    fc.property(fc.array(fc.constantFrom('LS+ ', 'LS- ', 'LMSG ', 'HMSG ', 'a', '.', '*', '>', ' ', '|', '+', '5', '-1', '\r\n', '\n'), { maxLength: 40 }), (parts) => {
      const events = run([Buffer.from(parts.join(''))])
      assert.ok(events.filter((e) => e[0] === 'error').length <= 1)
    }),
    { numRuns: 500 },
  )
})
