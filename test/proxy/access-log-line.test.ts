// accessLogLine must give exactly JSON.stringify(record) (or throw where it throws) for every
// record: the core's own shape with odd strings and numbers, plugin-added fields of any type,
// reordered, deleted or integer-like keys, toJSON. And a real proxied request with a hostile path
// and user agent logs the bytes JSON.stringify gives for the record its onLog hook saw.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import { request } from 'undici'
import { AccessLog, type AccessLogSink } from '../../src/proxy/access-log.js'
import { accessLogLine, encodeAccessLogLine } from '../../src/proxy/access-log-line.js'
import type { AccessLogRecord, ProxyPlugin } from '../../src/proxy/index.js'
import { backend, rawExchange, startProxy, waitFor } from './_helpers.js'

function core(): Record<string, unknown> {
  return {
    time: '2026-01-02T03:04:05.678Z', remote_addr: '127.0.0.1', remote_user: '-', request: 'GET /a?b=c HTTP/1.1', method: 'GET', host: 'example.com',
    path: '/a?b=c', protocol: 'HTTP/1.1', status: 200, body_bytes_sent: 12, http_referer: '-', http_user_agent: 'curl/8.0', request_id: 'id-1',
    route: 'default', pool: 'app', upstream_addr: '127.0.0.1:8080', upstream_status: 200, upstream_time: 0.000123, request_time: 0.001234, attempts: 1,
  }
}

function same(record: object, what: string): void {
  let expected: string | Error
  try {
    expected = JSON.stringify(record)
  } catch (err) {
    expected = err as Error
  }
  if (expected instanceof Error) {
    assert.throws(() => accessLogLine(record), { name: expected.name }, what)
    assert.equal(encodeAccessLogLine(record, Buffer.alloc(4096), 0), -1, what)
    return
  }
  assert.equal(accessLogLine(record), expected, what)
  // The byte encoder writes the same UTF-8, or declines (-1) and leaves the line to accessLogLine.
  const buf = Buffer.alloc(expected.length * 3 + 64, 0xee)
  const end = encodeAccessLogLine(record, buf, 7)
  if (end !== -1) {
    assert.equal(buf.toString('utf8', 7, end), expected, `${what} (bytes)`)
    assert.equal(buf[6], 0xee, `${what}: nothing written before pos`)
  }
}

const ODD_STRINGS = ['', '"', '\\', 'a"b\\c', '\n\r\t\b\f', '\u0000\u001f\u007f', '\ud800', '\udfff', 'x\ud83d', '\ud83d\ude00', 'é ü 中文', '\u2028\u2029', '</script>', '%22%5C', '{"a":1}']
const ODD_NUMBERS = [0, -0, 1.5, -1, 1e21, 1e-7, 123456789.123, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER, 5e-324]

test('access-log line: the core record, each field in turn given odd strings and numbers', () => {
  same(core(), 'plain core record')
  for (const k of Object.keys(core())) {
    for (const v of [...ODD_STRINGS, ...ODD_NUMBERS, undefined, null, true, false, { a: 1 }, [1, 'x'], () => 1, Symbol('s')]) {
      const r = core()
      r[k] = v
      same(r, `${k} = ${String(typeof v === 'symbol' ? 'symbol' : v)}`)
    }
  }
})

test('access-log line: plugin fields, missing, reordered and integer-like keys, toJSON, bigint', () => {
  const withExtra = { ...core(), limit: 'allowed', cache: 'HIT', error: 'ERR_X', geo: { region: 'eu', n: [1, 2] }, n: null, u: undefined, f: () => 1, nan: Number.NaN }
  same(withExtra, 'plugin fields of every kind')
  const missing = core()
  delete missing['status']
  same(missing, 'a core key deleted')
  same({ path: '/x', ...core() }, 'keys reordered')
  same({ ...core(), 7: 'seven', '01': 'x', 'a"b': 1, 'k\n': 2, '\ud800': 3 }, 'integer-like and odd keys')
  same({ ...core(), toJSON: () => ({ replaced: true }) }, 'toJSON on the record')
  same(Object.defineProperty(core(), 'toJSON', { value: () => 'hidden', enumerable: false }), 'a non-enumerable toJSON')
  same(Object.assign(Object.create({ toJSON: () => ({ from: 'prototype' }) }) as object, core()), 'toJSON on the prototype')
  same({ ...core(), d: new Date(0) }, 'a Date (toJSON) in a plugin field')
  same({ ...core(), big: 1n }, 'bigint throws')
  same({ ...core(), s: Object('boxed') as object }, 'a boxed string')
  same({}, 'empty record')
  same({ a: undefined }, 'only undefined')
  same(Object.assign(Object.create({ inherited: 'x' }) as object, core()), 'inherited enumerable fields are not logged')
})

test('access-log line: property, any values in the core shape and after it', () => {
  const value = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string(),
    fc.constantFrom(...ODD_STRINGS),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constantFrom(null, undefined),
    fc.anything({ maxDepth: 2 }),
  )
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...Object.keys(core())), value), fc.dictionary(fc.string(), value, { maxKeys: 5 }), (overrides, extra) => {
      same({ ...core(), ...overrides, ...extra }, 'generated record')
    }),
    { numRuns: 2000 },
  )
})

test('access-log line: a proxied request with a hostile path and user agent logs JSON.stringify of its record', async (t) => {
  const b = await backend(t, 'b')
  const out = new PassThrough()
  let text = ''
  out.on('data', (c: Buffer) => (text += c.toString('utf8')))
  const seen: AccessLogRecord[] = []
  const plugin: ProxyPlugin = {
    name: 'log-fields',
    create: () => ({
      onLog(_ctx, rec) {
        rec['plugin_note'] = 'say "hi"\\\u0001'
        rec['plugin_obj'] = { nested: ['ü', 1] }
        seen.push(rec)
      },
    }),
  }
  const { url, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, accessLog: { enabled: true } }, { plugins: [plugin], accessLogStream: out })
  await (await request(`${url}/plain`, { headers: { 'user-agent': 'ua "quoted" \\ back é' } })).body.text()
  // Bytes 0x80-0xff in a header value (obs-text) reach the log as latin1 characters.
  await rawExchange(port, Buffer.from('GET /p%22ath/?q="x"\\ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: \xe9\xff "odd"\r\nConnection: close\r\n\r\n', 'latin1'))
  await waitFor(() => text.split('\n').length > 2, 5000, `two access-log lines in ${text}`)
  const lines = text.split('\n').filter((l) => l !== '')
  assert.equal(lines.length, 2)
  assert.deepEqual(lines, seen.map((r) => JSON.stringify(r)))
})

test('access-log bytes: the core shape with ASCII values and primitive plugin fields is encoded, not declined', () => {
  const buf = Buffer.alloc(4096)
  for (const r of [core(), { ...core(), limit: 'allowed', n: null, ok: true, no: false, x: -1.5e-7, big: 2 ** 40, u: undefined }]) {
    const end = encodeAccessLogLine(r, buf, 0)
    assert.ok(end > 0, 'encoded')
    assert.equal(buf.toString('utf8', 0, end), JSON.stringify(r))
  }
  // Integers the encoder writes digit by digit (0..2^32-1), and the first ones it leaves to String().
  for (const n of [0, 1, 7, 9, 10, 70, 99, 100, 707, 4096, 65535, 1234567, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -7, 7.5]) {
    const r = { ...core(), body_bytes_sent: n, attempts: n + 7 }
    const end = encodeAccessLogLine(r, buf, 0)
    assert.equal(buf.toString('utf8', 0, end), JSON.stringify(r), String(n))
  }
  for (let n = 0; n < 20000; n += 7) same({ ...core(), status: n }, `status ${n}`)
  // Durations rounded to microseconds (what the core logs), written digit by digit.
  const micro = [1, 10, 100, 999, 1000, 100000, 500000, 999999, 1000000, 1000001, 1234567, 4293999999, 4294000000, 4295000000]
  for (let i = 0; i < 20000; i++) micro.push(1 + Math.floor(Math.random() * 4.3e9), 1 + Math.floor(Math.random() * 2e5))
  for (const us of micro) {
    for (const v of [us / 1e6, Math.round((us / 1e6) * 1e6) / 1e6, us / 1e6 + 1e-9, us * 1e-6]) {
      const r = { ...core(), request_time: v, upstream_time: v }
      const end = encodeAccessLogLine(r, buf, 0)
      assert.equal(buf.toString('utf8', 0, end), JSON.stringify(r), `${us} us: ${v}`)
    }
  }
  // A line that runs past the buffer's end says so (end > length) and writes nothing out of bounds.
  const small = Buffer.alloc(100)
  assert.ok(encodeAccessLogLine(core(), small, 10) > small.length)
})

test('access-log batches: lines in order across buffer refills, lines longer than the buffer, declined records, a write per full buffer', async () => {
  const writes: Buffer[] = []
  // A sink that copies (like the file) and a plain Writable-like one that keeps what it is given.
  for (const copies of [true, false]) {
    writes.length = 0
    const sink = copies
      ? ({ copies: true, write: (b: Uint8Array) => void writes.push(Buffer.from(b)) } satisfies AccessLogSink)
      : ({ write: (b: Uint8Array) => (writes.push(b as Buffer), true) } as unknown as AccessLogSink)
    const log = new AccessLog(sink)
    const expected: string[] = []
    for (let i = 0; i < 400; i++) {
      const r: Record<string, unknown> = { ...core(), path: `/p/${i}/${'x'.repeat(i % 7 === 0 ? 400 : 3)}` }
      if (i % 50 === 3) r['ua_note'] = 'é "quoted"' // declined by the byte encoder
      if (i === 200) r['huge'] = 'h'.repeat(70 * 1024) // longer than the 64 KiB buffer
      log.write(r as never)
      expected.push(JSON.stringify(r))
    }
    await new Promise((r) => setTimeout(r, 50))
    // Read after every write: a sink that keeps its chunks sees none overwritten by later lines.
    const text = Buffer.concat(writes).toString('utf8')
    assert.deepEqual(text.split('\n'), [...expected, ''], `copies=${copies}`)
    assert.ok(writes.length >= 2 && writes.length < 10, `${writes.length} writes for 400 lines`)
  }
})
