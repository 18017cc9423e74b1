// Strict HTTP/1.1 request-head parser of the fast path. It accepts only heads it fully
// understands (known method, origin-form target, exactly HTTP/1.1, token header names, printable
// ASCII values, one Host, no body framing other than `Content-Length: 0`, no Upgrade/Expect/TE,
// no repeated field); everything else is DECLINED and node:http parses it instead. Pure: no I/O.
import { findHeadEnd, isTokenRange, knownNames } from './field-chars.js'

/** Result kinds of parseRequestHead. */
export const HeadResult = { PARTIAL: 0, DECLINE: 1 } as const

export interface FastHead {
  method: string
  url: string
  /** Lower-case names; one value each (repeated fields are declined). */
  headers: Record<string, string>
  rawHeaders: string[]
  /** Index just past the blank line that ends the head. */
  end: number
  /** `Connection: close` was sent. */
  close: boolean
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'])

/** Fields whose presence means "not the simple case": node:http handles these requests. */
const DECLINE_FIELDS = new Set(['transfer-encoding', 'upgrade', 'expect', 'http2-settings', 'te'])

export interface HeadLimits {
  /** node:http's maxHeaderSize: a longer head is left to node (it answers 431). */
  maxHeaderBytes: number
  /** Header fields allowed; more are left to node (and the protection layer's 431). */
  maxHeaders: number
}

// Common request field names in their usual spellings (and upper case), see knownNames.
const REQUEST_NAMES = ['host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'connection', 'cookie', 'referer', 'cache-control', 'pragma', 'content-type', 'content-length', 'authorization', 'origin', 'if-none-match', 'if-modified-since', 'range', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'upgrade', 'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-dest', 'dnt', 'te', 'expect', 'transfer-encoding']
const KNOWN_NAMES = knownNames(REQUEST_NAMES, REQUEST_NAMES.map((n) => n.toUpperCase()))

function isPrintableValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false
  }
  return true
}

/**
 * Parses one request head starting at `start` of `buf`. PARTIAL: no complete head yet (and within
 * limits); DECLINE: not for the fast path; otherwise the head. `scanFrom`: where the search for
 * the blank line may start (bytes before it were searched already).
 */
export function parseRequestHead(buf: Buffer, start: number, limits: HeadLimits, scanFrom = start): FastHead | (typeof HeadResult)[keyof typeof HeadResult] {
  const blank = findHeadEnd(buf, scanFrom > start ? scanFrom : start)
  if (blank < 0) {
    // Leading empty lines before a request line are legal (RFC 9112 2.2) but rare: node's job.
    if (buf.length - start > limits.maxHeaderBytes || buf[start] === 0x0d || buf[start] === 0x0a) return HeadResult.DECLINE
    return HeadResult.PARTIAL
  }
  const end = blank + 4
  if (end - start > limits.maxHeaderBytes) return HeadResult.DECLINE
  const text = buf.toString('latin1', start, blank + 2)
  // Request line: METHOD SP origin-form SP HTTP/1.1 CRLF
  const sp1 = text.indexOf(' ')
  if (sp1 <= 0) return HeadResult.DECLINE
  const method = text.slice(0, sp1)
  if (!METHODS.has(method)) return HeadResult.DECLINE
  const lineEnd = text.indexOf('\r\n', sp1)
  if (lineEnd < 0 || text.slice(lineEnd - 9, lineEnd) !== ' HTTP/1.1') return HeadResult.DECLINE
  const urlEnd = lineEnd - 9
  if (urlEnd <= sp1 + 1 || text.charCodeAt(sp1 + 1) !== 0x2f /* / */) return HeadResult.DECLINE
  for (let i = sp1 + 1; i < urlEnd; i++) {
    const c = text.charCodeAt(i)
    // Visible ASCII only; no fragment; no second space.
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return HeadResult.DECLINE
  }
  const url = text.slice(sp1 + 1, urlEnd)
  const headers: Record<string, string> = {}
  const rawHeaders: string[] = []
  let close = false
  let pos = lineEnd + 2
  let count = 0
  while (pos < text.length) {
    const eol = text.indexOf('\r\n', pos)
    if (eol < 0) return HeadResult.DECLINE
    const colon = text.indexOf(':', pos)
    if (colon <= pos || colon > eol) return HeadResult.DECLINE
    if (!isTokenRange(text, pos, colon)) return HeadResult.DECLINE
    if (++count > limits.maxHeaders) return HeadResult.DECLINE
    const name = text.slice(pos, colon)
    // Bare LF (or CR) inside a line would be a line break to some parsers: refuse. OWS trimming
    // strips only SP and HTAB, so the printable check of the value sees every CR and LF.
    const value = trimOws(text.slice(colon + 1, eol))
    if (!isPrintableValue(value)) return HeadResult.DECLINE
    const lower = KNOWN_NAMES.get(name) ?? name.toLowerCase()
    if (headers[lower] !== undefined || DECLINE_FIELDS.has(lower)) return HeadResult.DECLINE
    if (lower === 'content-length') {
      if (value !== '0') return HeadResult.DECLINE
    } else if (lower === 'connection') {
      close = hasToken(value, 'close')
      if (hasToken(value, 'upgrade')) return HeadResult.DECLINE
    }
    headers[lower] = value
    rawHeaders.push(name, value)
    pos = eol + 2
  }
  if (headers['host'] === undefined || headers['host'] === '') return HeadResult.DECLINE
  return { method, url, headers, rawHeaders, end, close }
}

/** Strips optional whitespace (SP / HTAB) around a field value. */
export function trimOws(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/** Whether a comma-separated field value (Connection) lists `token` (lower case). */
export function hasToken(value: string, token: string): boolean {
  const v = value.toLowerCase()
  if (v === token) return true
  if (!v.includes(token)) return false
  for (const t of v.split(',')) if (t.trim() === token) return true
  return false
}
