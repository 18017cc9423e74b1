// The text of one access-log line: exactly JSON.stringify(record), byte for byte. The record the
// core builds (request-context.ts) has the same twenty fields in the same order every time, then
// whatever plugins add; for that shape the line is one template of the field values, checked for
// what JSON would escape, instead of JSON.stringify's generic walk (about half its cost in node 20).
// Any other shape or value (nested objects, toJSON, bigint, escapes) takes a slower exact path.

/** The fields request-context.ts creates, in its order. */
const CORE = [
  'time', 'remote_addr', 'remote_user', 'request', 'method', 'host', 'path', 'protocol', 'status', 'body_bytes_sent',
  'http_referer', 'http_user_agent', 'request_id', 'route', 'pool', 'upstream_addr', 'upstream_status', 'upstream_time', 'request_time', 'attempts',
] as const

/** Whether JSON.stringify(s) is `"${s}"`: no control, `"`, `\` or surrogate (lone ones are escaped). */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false
  }
  return true
}

/** JSON.stringify(record), byte for byte (and throwing where it throws). */
export function accessLogLine(record: object): string {
  // toJSON on the record or its prototype chain: JSON.stringify calls it.
  if ((record as { toJSON?: unknown }).toJSON !== undefined) return JSON.stringify(record)
  const keys = Object.keys(record)
  if (keys.length < CORE.length) return genericLine(record, keys)
  for (let i = 0; i < CORE.length; i++) if (keys[i] !== CORE[i]) return genericLine(record, keys)
  const r = record as Record<(typeof CORE)[number], unknown>
  const time = r.time
  const remoteAddr = r.remote_addr
  const remoteUser = r.remote_user
  const request = r.request
  const method = r.method
  const host = r.host
  const path = r.path
  const protocol = r.protocol
  const status = r.status
  const bodyBytes = r.body_bytes_sent
  const referer = r.http_referer
  const userAgent = r.http_user_agent
  const requestId = r.request_id
  const route = r.route
  const pool = r.pool
  const upstreamAddr = r.upstream_addr
  const upstreamStatus = r.upstream_status
  const upstreamTime = r.upstream_time
  const requestTime = r.request_time
  const attempts = r.attempts
  if (
    !(typeof time === 'string' && plain(time) && typeof remoteAddr === 'string' && plain(remoteAddr) && typeof remoteUser === 'string' && plain(remoteUser) &&
      typeof request === 'string' && plain(request) && typeof method === 'string' && plain(method) && typeof host === 'string' && plain(host) &&
      typeof path === 'string' && plain(path) && typeof protocol === 'string' && plain(protocol) && typeof referer === 'string' && plain(referer) &&
      typeof userAgent === 'string' && plain(userAgent) && typeof requestId === 'string' && plain(requestId) && typeof route === 'string' && plain(route) &&
      typeof pool === 'string' && plain(pool) && typeof upstreamAddr === 'string' && plain(upstreamAddr) &&
      Number.isFinite(status) && Number.isFinite(bodyBytes) && Number.isFinite(upstreamStatus) && Number.isFinite(upstreamTime) && Number.isFinite(requestTime) && Number.isFinite(attempts))
  ) {
    return genericLine(record, keys)
  }
  // Finite numbers print as JSON prints them (String(-0) is "0" in both).
  let out = `{"time":"${time}","remote_addr":"${remoteAddr}","remote_user":"${remoteUser}","request":"${request}","method":"${method}","host":"${host}","path":"${path}","protocol":"${protocol}","status":${status as number},"body_bytes_sent":${bodyBytes as number},"http_referer":"${referer}","http_user_agent":"${userAgent}","request_id":"${requestId}","route":"${route}","pool":"${pool}","upstream_addr":"${upstreamAddr}","upstream_status":${upstreamStatus as number},"upstream_time":${upstreamTime as number},"request_time":${requestTime as number},"attempts":${attempts as number}`
  const rec = record as Record<string, unknown>
  for (let i = CORE.length; i < keys.length; i++) {
    const k = keys[i] as string
    const text = valueText(rec[k])
    if (text === undefined) continue
    if (text === null) return JSON.stringify(record)
    out += `,${plain(k) ? `"${k}"` : JSON.stringify(k)}:${text}`
  }
  return `${out}}`
}

/**
 * A primitive value as JSON.stringify writes it; undefined: the key is left out (as JSON does for
 * undefined); null: not a primitive JSON writes as is, so the record goes to JSON.stringify.
 */
function valueText(v: unknown): string | undefined | null {
  switch (typeof v) {
    case 'string':
      return plain(v) ? `"${v}"` : JSON.stringify(v)
    case 'number':
      return Number.isFinite(v) ? `${v}` : 'null'
    case 'boolean':
      return v ? 'true' : 'false'
    case 'undefined':
      return undefined
    default:
      return v === null ? 'null' : null
  }
}

/** Any other shape: every key in order, each value as JSON writes it. */
function genericLine(record: object, keys: readonly string[]): string {
  const rec = record as Record<string, unknown>
  let out = '{'
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string
    const text = valueText(rec[k])
    if (text === undefined) continue
    if (text === null) return JSON.stringify(record)
    out += `${out.length === 1 ? '' : ','}${plain(k) ? `"${k}"` : JSON.stringify(k)}:${text}`
  }
  return `${out}}`
}

// ---- Straight into bytes ----------------------------------------------------------------------
// encodeAccessLogLine writes the same text as UTF-8 into a buffer in one pass: every string is
// checked and copied byte by byte, numbers are written digit by digit, and no line string, cons
// string or join exists. It handles the common case only: the core shape, plugin fields of
// primitive types, and strings of ASCII that JSON writes as is; for anything else it answers -1
// and the caller encodes accessLogLine(record). Each core field is read by its own name (one
// monomorphic load each, where a loop over the names was a megamorphic keyed load per field).

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
/** The core fields JSON writes as strings (the rest are numbers). */
const QUOTED = new Set<string>(['time', 'remote_addr', 'remote_user', 'request', 'method', 'host', 'path', 'protocol', 'http_referer', 'http_user_agent', 'request_id', 'route', 'pool', 'upstream_addr'])
/** The text before each core field's value, ending the previous value: `{"time":"`, `","remote_addr":"`, ..., `,"attempts":`. */
const [
  P_TIME, P_REMOTE_ADDR, P_REMOTE_USER, P_REQUEST, P_METHOD, P_HOST, P_PATH, P_PROTOCOL, P_STATUS, P_BODY_BYTES,
  P_REFERER, P_USER_AGENT, P_REQUEST_ID, P_ROUTE, P_POOL, P_UPSTREAM_ADDR, P_UPSTREAM_STATUS, P_UPSTREAM_TIME, P_REQUEST_TIME, P_ATTEMPTS,
] = CORE.map((k, i) => bytes(`${i === 0 ? '{' : QUOTED.has(CORE[i - 1] as string) ? '",' : ','}"${k}":${QUOTED.has(k) ? '"' : ''}`)) as [
  Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer,
]
const NULL_BYTES = bytes('null')
const TRUE_BYTES = bytes('true')
const FALSE_BYTES = bytes('false')
const QUOTE = bytes('"')

function putBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) buf[pos + i] = b[i] as number
  return pos + b.length
}

/** `prefix` then `v` when it is a string JSON writes unescaped and UTF-8 writes one byte a character; -1 otherwise (or when `pos` is). */
function putString(buf: Uint8Array, pos: number, prefix: Uint8Array, v: unknown): number {
  if (pos < 0 || typeof v !== 'string') return -1
  const p = putBytes(buf, pos, prefix)
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) return -1
    buf[p + i] = c
  }
  return p + v.length
}

/** `prefix` then `v` when it is a finite number; -1 otherwise (or when `pos` is). */
function putNumberField(buf: Uint8Array, pos: number, prefix: Uint8Array, v: unknown): number {
  if (pos < 0 || typeof v !== 'number' || !Number.isFinite(v)) return -1
  return putNumber(buf, putBytes(buf, pos, prefix), v)
}

function putUint(buf: Uint8Array, pos: number, v: number): number {
  let digits = 1
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++
  let x = v
  for (let i = pos + digits - 1; i >= pos; i--) {
    const q = Math.floor(x / 10)
    buf[i] = 0x30 + x - q * 10
    x = q
  }
  return pos + digits
}

/** A finite number exactly as JSON (String()) writes it. */
function putNumber(buf: Uint8Array, pos: number, v: number): number {
  if (v >>> 0 === v) return putUint(buf, pos, v)
  // Durations the core rounds to microseconds (0 < v < 4294 s): the decimal of whole microseconds,
  // trailing zeros dropped, is the shortest text that reads back as v, which is what String() writes.
  if (v > 0 && v < 4294) {
    const us = Math.round(v * 1e6)
    if (us / 1e6 === v && us >= 1) {
      const whole = Math.floor(us / 1e6)
      let frac = us - whole * 1e6
      let p = putUint(buf, pos, whole)
      if (frac === 0) return p
      buf[p++] = 0x2e
      let digits = 6
      while (frac % 10 === 0) {
        frac /= 10
        digits--
      }
      for (let i = p + digits - 1; i >= p; i--) {
        const q = Math.floor(frac / 10)
        buf[i] = 0x30 + frac - q * 10
        frac = q
      }
      return p + digits
    }
  }
  // Digits, '.', '-', '+' and 'e' only: every character is one byte.
  const s = `${v}`
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i)
  return pos + s.length
}

/**
 * Writes `accessLogLine(record)` as UTF-8 at `pos` and returns the end, or -1 when this record
 * needs the exact generic path. Writes past the end of `buf` are lost: a result above
 * `buf.length` means the line did not fit (and nothing before `pos` was touched).
 */
export function encodeAccessLogLine(record: object, buf: Uint8Array, pos: number): number {
  if ((record as { toJSON?: unknown }).toJSON !== undefined) return -1
  const keys = Object.keys(record)
  if (keys.length < CORE.length) return -1
  for (let i = 0; i < CORE.length; i++) if (keys[i] !== CORE[i]) return -1
  const r = record as Record<(typeof CORE)[number], unknown>
  let p = putString(buf, pos, P_TIME, r.time)
  p = putString(buf, p, P_REMOTE_ADDR, r.remote_addr)
  p = putString(buf, p, P_REMOTE_USER, r.remote_user)
  p = putString(buf, p, P_REQUEST, r.request)
  p = putString(buf, p, P_METHOD, r.method)
  p = putString(buf, p, P_HOST, r.host)
  p = putString(buf, p, P_PATH, r.path)
  p = putString(buf, p, P_PROTOCOL, r.protocol)
  p = putNumberField(buf, p, P_STATUS, r.status)
  p = putNumberField(buf, p, P_BODY_BYTES, r.body_bytes_sent)
  p = putString(buf, p, P_REFERER, r.http_referer)
  p = putString(buf, p, P_USER_AGENT, r.http_user_agent)
  p = putString(buf, p, P_REQUEST_ID, r.request_id)
  p = putString(buf, p, P_ROUTE, r.route)
  p = putString(buf, p, P_POOL, r.pool)
  p = putString(buf, p, P_UPSTREAM_ADDR, r.upstream_addr)
  p = putNumberField(buf, p, P_UPSTREAM_STATUS, r.upstream_status)
  p = putNumberField(buf, p, P_UPSTREAM_TIME, r.upstream_time)
  p = putNumberField(buf, p, P_REQUEST_TIME, r.request_time)
  p = putNumberField(buf, p, P_ATTEMPTS, r.attempts)
  if (p < 0) return -1
  const rec = record as Record<string, unknown>
  for (let i = CORE.length; i < keys.length; i++) {
    const k = keys[i] as string
    const v = rec[k]
    if (v === undefined) continue
    buf[p++] = 0x2c
    p = putString(buf, p, QUOTE, k)
    if (p < 0) return -1
    buf[p++] = 0x22
    buf[p++] = 0x3a
    switch (typeof v) {
      case 'string':
        p = putString(buf, p, QUOTE, v)
        if (p < 0) return -1
        buf[p++] = 0x22
        break
      case 'number':
        p = Number.isFinite(v) ? putNumber(buf, p, v) : putBytes(buf, p, NULL_BYTES)
        break
      case 'boolean':
        p = putBytes(buf, p, v ? TRUE_BYTES : FALSE_BYTES)
        break
      default:
        if (v !== null) return -1
        p = putBytes(buf, p, NULL_BYTES)
    }
  }
  buf[p++] = 0x7d
  return p
}
