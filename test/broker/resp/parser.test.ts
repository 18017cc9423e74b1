// The RESP request parser on its own: whole streams, one byte at a time, every split, inline
// commands split as Redis's sdssplitargs does, Redis's protocol error texts, a corpus of nasty
// inputs, and fast-check properties (any chunking of valid requests gives the same commands;
// random and mangled bytes never throw and are split-invariant).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RespParser, type RespParserLimits } from '../../../src/broker/resp/parser.js'
import { splitInline } from '../../../src/broker/resp/inline.js'
import { command } from './_util.js'

const LIMITS: RespParserLimits = { maxInlineBytes: 64 * 1024, maxBulkBytes: 1024, maxPayloadBytes: 4096, maxArgs: 64 }

type Event = string[] | { error: string }

function run(chunks: Buffer[], restricted = false, limits = LIMITS): Event[] {
  const events: Event[] = []
  const p = new RespParser(
    {
      onCommand: (args) => events.push(args.map((a) => a.toString('latin1'))),
      onProtocolError: (message) => events.push({ error: message }),
      restricted,
    },
    limits,
  )
  for (const c of chunks) p.push(c)
  return events
}

function splits(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const p of points) {
    out.push(buf.subarray(from, p))
    from = p
  }
  out.push(buf.subarray(from))
  return out
}

const session = Buffer.concat([
  command('SUBSCRIBE', 'a', 'b'),
  Buffer.from('PING\r\n'),
  command('PUBLISH', 'a.b', Buffer.from([0, 13, 10, 255])),
  Buffer.from('*0\r\n*-1\r\n\r\n'),
  Buffer.from('echo "x y\\x41\\n" \'it\\\'s\'\n'),
  command('ECHO', ''),
])
const expected: Event[] = [['SUBSCRIBE', 'a', 'b'], ['PING'], ['PUBLISH', 'a.b', '\u0000\r\n\u00ff'], ['echo', 'x yA\n', "it's"], ['ECHO', '']]

test('parses a whole session in one chunk, byte by byte, and at every split', () => {
  assert.deepEqual(run([session]), expected)
  assert.deepEqual(run([...session].map((b) => Buffer.from([b]))), expected)
  for (let i = 0; i <= session.length; i++) assert.deepEqual(run([session.subarray(0, i), session.subarray(i)]), expected, `split at ${i}`)
})

test('arguments spanning chunks are copied; whole ones are views of the chunk', () => {
  const got: Buffer[][] = []
  const p = new RespParser({ onCommand: (a) => got.push(a), onProtocolError: () => assert.fail('no error'), restricted: false }, LIMITS)
  const req = command('PUBLISH', 'ch', 'payload-bytes')
  const cut = req.indexOf('payload') + 3
  const first = Buffer.from(req.subarray(0, cut))
  p.push(first)
  p.push(Buffer.from(req.subarray(cut)))
  const whole = Buffer.from(req)
  p.push(whole)
  assert.equal(got[0]?.[2]?.toString(), 'payload-bytes')
  first.fill(0)
  assert.equal(got[0]?.[2]?.toString(), 'payload-bytes', 'spanning payload copied')
  assert.equal(got[1]?.[2]?.buffer, whole.buffer, 'whole payload is a view')
})

test('inline splitting follows sdssplitargs', () => {
  const s = (line: string) => splitInline(Buffer.from(line))?.map(String)
  assert.deepEqual(s('  a  b\tc  '), ['a', 'b', 'c'])
  assert.deepEqual(s('"a b" \'c d\''), ['a b', 'c d'])
  assert.deepEqual(s('"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\"q"'), ['AJ\n\r\t\b\u0007\\"q'])
  assert.deepEqual(s("'\\n'"), ['\\n'])
  assert.deepEqual(s('ab"cd"'), ['abcd'])
  assert.equal(s('"unterminated'), undefined)
  assert.equal(s('"closed"x'), undefined)
  assert.equal(s("'x'y"), undefined)
  assert.deepEqual(s(''), [])
  assert.deepEqual(s('a\u0000b'), ['a'])
})

const corpus: [string, string | Buffer, Event[]][] = [
  ['non-numeric multibulk count', '*x\r\n', [{ error: 'Protocol error: invalid multibulk length' }]],
  ['too many arguments', '*65\r\n', [{ error: 'Protocol error: invalid multibulk length' }]],
  ['negative bulk length', '*1\r\n$-1\r\n', [{ error: 'Protocol error: invalid bulk length' }]],
  ['bulk over maxBulkBytes', '*2\r\n$4\r\nECHO\r\n$1025\r\n', [{ error: 'Protocol error: invalid bulk length' }]],
  ['PUBLISH payload over max payload', '*3\r\n$7\r\npublish\r\n$1\r\nc\r\n$4097\r\n', [{ error: 'Protocol error: invalid bulk length' }]],
  ['PUBLISH payload over maxBulkBytes but within max payload', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$2000\r\n' + 'x'.repeat(2000) + '\r\n', [['PUBLISH', 'c', 'x'.repeat(2000)]]],
  ['expected $', '*1\r\n:1\r\n', [{ error: "Protocol error: expected '$', got ':'" }]],
  ['bulk without CRLF', '*1\r\n$1\r\nab\r\n', [{ error: 'Protocol error: invalid bulk terminator' }]],
  ['count line without CR', '*1\n', [{ error: 'Protocol error: invalid multibulk length' }]],
  ['unbalanced quotes', 'ECHO "a\r\n', [{ error: 'Protocol error: unbalanced quotes in request' }]],
  ['huge count number', '*99999999999999999999999\r\n', [{ error: 'Protocol error: invalid multibulk length' }]],
  ['commands before an error still run, nothing after it', 'PING\r\n*1\r\n$x\r\nPING\r\n', [['PING'], { error: 'Protocol error: invalid bulk length' }]],
]

for (const [name, input, events] of corpus) {
  test(`corpus: ${name}`, () => {
    const buf = Buffer.from(input)
    assert.deepEqual(run([buf]), events)
    assert.deepEqual(run([...buf].map((b) => Buffer.from([b]))), events, 'byte by byte')
  })
}

test('lines longer than the inline limit are refused before they are buffered in full', () => {
  const limits = { ...LIMITS, maxInlineBytes: 100 }
  assert.deepEqual(run([Buffer.alloc(101, 0x61)], false, limits), [{ error: 'Protocol error: too big inline request' }])
  assert.deepEqual(run([Buffer.from('*'), Buffer.alloc(101, 0x31)], false, limits), [{ error: 'Protocol error: too big mbulk count string' }])
  assert.deepEqual(run([Buffer.from('*1\r\n$'), Buffer.alloc(101, 0x31)], false, limits), [{ error: 'Protocol error: too big bulk count string' }])
})

test('restricted (unauthenticated) limits: 10 arguments, 16 KiB bulks', () => {
  const big = { ...LIMITS, maxBulkBytes: 1 << 20, maxArgs: 1000 }
  assert.deepEqual(run([Buffer.from('*11\r\n')], true, big), [{ error: 'Protocol error: unauthenticated multibulk length' }])
  assert.deepEqual(run([Buffer.from('*1\r\n$16385\r\n')], true, big), [{ error: 'Protocol error: unauthenticated bulk length' }])
  assert.deepEqual(run([Buffer.from('a b c d e f g h i j k\r\n')], true, big), [{ error: 'Protocol error: unauthenticated multibulk length' }])
})

// A pipelined PUBLISH whole in one chunk is read by the fast path; byte by byte it never is (it
// needs the whole command in one chunk), so the two runs compare the fast path with the general one.
const publishes: [string, string][] = [
  ['plain', '*3\r\n$7\r\nPUBLISH\r\n$3\r\na.b\r\n$5\r\nhello\r\n'],
  ['any case', '*3\r\n$7\r\npUbLiSh\r\n$1\r\nc\r\n$1\r\nx\r\n'],
  ['empty channel and payload', '*3\r\n$7\r\nPUBLISH\r\n$0\r\n\r\n$0\r\n\r\n'],
  ['leading zeros in lengths', '*3\r\n$7\r\nPUBLISH\r\n$01\r\nc\r\n$0002\r\nxy\r\n'],
  ['binary payload with CRLF inside', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4\r\n\r\n\r\n\r\n'],
  ['not quite PUBLISH', '*3\r\n$7\r\nPUBLISX\r\n$1\r\nc\r\n$1\r\nx\r\n'],
  ['PUBLISH with 4 arguments', '*4\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nx\r\n$1\r\ny\r\n'],
  ['channel over maxBulkBytes', '*3\r\n$7\r\nPUBLISH\r\n$1025\r\n' + 'c'.repeat(1025) + '\r\n$1\r\nx\r\n'],
  ['payload over max payload', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4097\r\n' + 'x'.repeat(4097) + '\r\n'],
  ['payload at max payload', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4096\r\n' + 'x'.repeat(4096) + '\r\n'],
  ['negative length', '*3\r\n$7\r\nPUBLISH\r\n$-1\r\n$1\r\nx\r\n'],
  ['length with a plus', '*3\r\n$7\r\nPUBLISH\r\n$+1\r\nc\r\n$1\r\nx\r\n'],
  ['length line without CR', '*3\r\n$7\r\nPUBLISH\r\n$1\nc\r\n$1\r\nx\r\n'],
  ['payload one byte short', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$3\r\nxy\r\n*1\r\n$4\r\nPING\r\n'],
  ['bad terminator after payload', '*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nxyz\r\n'],
  ['eleven-digit length', '*3\r\n$7\r\nPUBLISH\r\n$00000000001\r\nc\r\n$1\r\nx\r\n'],
]

test('pipelined PUBLISH: the one-chunk fast path reads exactly what the general path reads', () => {
  for (const [name, one] of publishes) {
    const stream = Buffer.from(`${one}${one}*1\r\n$4\r\nPING\r\n`, 'latin1')
    for (const restricted of [false, true]) {
      const slow = run([...stream].map((b) => Buffer.from([b])), restricted)
      assert.deepEqual(run([stream], restricted), slow, `${name} (restricted ${restricted})`)
      for (const cut of [1, 20, stream.length >> 1, stream.length - 3]) assert.deepEqual(run([stream.subarray(0, cut), stream.subarray(cut)], restricted), slow, `${name} cut at ${cut}`)
    }
  }
  // Names and channels that change from one command to the next (the fast path keeps the last ones).
  const channels = ['a.b', 'a.c', 'a.c', 'x.c', 'c'.repeat(65), `d${'c'.repeat(64)}`, 'c'.repeat(64), `${'c'.repeat(63)}d`, 'a.b', '', 'a.b']
  const names = ['PUBLISH', 'PUBLISh', 'publish', 'PUBLISH']
  const mixed = Buffer.concat(channels.map((ch, k) => command(names[k % names.length] as string, ch, `m${k}`)))
  const slow = run([...mixed].map((b) => Buffer.from([b])))
  assert.deepEqual(run([mixed]), slow)
  assert.deepEqual(slow, channels.map((ch, k) => [names[k % names.length], ch, `m${k}`]))
  // The fast path hands out views of the chunk, as the general path does for whole arguments.
  const got: Buffer[][] = []
  const p = new RespParser({ onCommand: (a) => got.push(a), onProtocolError: () => assert.fail('no error'), restricted: false }, LIMITS)
  const chunk = Buffer.from(publishes[0]?.[1] as string)
  p.push(chunk)
  assert.deepEqual(got[0]?.map(String), ['PUBLISH', 'a.b', 'hello'])
  assert.equal(got[0]?.[2]?.buffer, chunk.buffer)
})

const arg = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)), fc.stringMatching(/^[a-z.*?]{1,8}$/).map((s) => Buffer.from(s)))
const request = fc.oneof(
  fc.array(arg, { minLength: 1, maxLength: 6 }).map((args) => ({ bytes: command(...args), args: args.map((a) => a.toString('latin1')) })),
  fc.array(fc.stringMatching(/^[a-zA-Z0-9.]{1,8}$/), { minLength: 1, maxLength: 5 }).map((words) => ({ bytes: Buffer.from(`${words.join(' ')}\r\n`), args: words })),
)

test('property: any chunking of valid requests yields the same commands', () => {
  fc.assert(
    fc.property(fc.array(request, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (reqs, cuts) => {
      const stream = Buffer.concat(reqs.map((r) => r.bytes))
      assert.deepEqual(run(splits(stream, cuts)), reqs.map((r) => r.args))
    }),
    { numRuns: 300 },
  )
})

test('property: random bytes and mangled requests never throw and are split-invariant', () => {
  const mangled = fc.tuple(fc.array(request, { maxLength: 8 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 })).map(([reqs, edits]) => {
    const b = Buffer.concat(reqs.map((r) => r.bytes))
    for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v
    return b
  })
  const input = fc.oneof(mangled, fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)))
  fc.assert(
    fc.property(input, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
      const whole = run([bytes])
      assert.deepEqual(run(splits(bytes, cuts)), whole)
      // At most one protocol error, and it is the last event.
      const errs = whole.filter((e) => !Array.isArray(e))
      assert.ok(errs.length <= 1)
      if (errs.length === 1) assert.ok(!Array.isArray(whole[whole.length - 1]))
    }),
    { numRuns: 500 },
  )
})
