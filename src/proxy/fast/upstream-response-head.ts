// The strict parser for an upstream response head (status line and header fields, CRLF-separated,
// without the final blank line). One instance per connection is refilled for every response, so
// parsing allocates no result object (the caller passes the headers object in).
import { isFieldValue, isToken, knownNames } from './field-chars.js'
import { hasToken, trimOws } from './request-head.js'

// Field names origins usually send, in their usual spellings (see knownNames).
const KNOWN_NAMES = knownNames(
  ['server', 'date', 'content-type', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'last-modified', 'etag', 'accept-ranges', 'cache-control', 'expires', 'vary', 'age', 'location', 'set-cookie', 'content-encoding', 'content-language', 'content-range', 'content-disposition', 'x-content-type-options', 'x-frame-options', 'strict-transport-security', 'access-control-allow-origin', 'pragma', 'x-powered-by', 'x-request-id', 'via'],
  ['ETag'],
)

/** `0`-`9` as a number, or -1. */
function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 0x30
  return c >= 0 && c <= 9 ? c : -1
}

export type Headers = Record<string, string | string[]>

/** Adds a field to a header (or trailer) map, turning a repeated name into an array. */
export function addHeader(h: Headers, name: string, value: string): void {
  const prev = h[name]
  if (prev === undefined) h[name] = value
  else if (Array.isArray(prev)) prev.push(value)
  else h[name] = [prev, value]
}

export class ResponseHead {
  status = 0
  reason = ''
  http10 = false
  /** A Connection header listed `close`. */
  close = false
  /** The Content-Length value, checked to be digits and equal when repeated. */
  contentLength: string | undefined = undefined
  /** The Transfer-Encoding value, lower-cased (it may appear only once). */
  transferEncoding: string | undefined = undefined

  /** Fills the fields and `headers` (names lower-cased) from `text`; returns undefined, or what is wrong with the head. */
  parse(text: string, headers: Headers): string | undefined {
    const eol = text.indexOf('\r\n')
    // `HTTP/1.x DDD[ reason]`: minor version 0 or 1, a status of three digits from 100, a reason
    // of anything but CR and LF.
    const lineEnd = eol < 0 ? text.length : eol
    const minor = text.charCodeAt(7)
    const d1 = digit(text, 9)
    const d2 = digit(text, 10)
    const d3 = digit(text, 11)
    if (lineEnd < 12 || !text.startsWith('HTTP/1.') || (minor !== 0x30 && minor !== 0x31) || text.charCodeAt(8) !== 0x20 || d1 < 1 || d2 < 0 || d3 < 0) return 'bad status line'
    let reason = ''
    if (lineEnd > 12) {
      if (text.charCodeAt(12) !== 0x20) return 'bad status line'
      for (let i = 13; i < lineEnd; i++) {
        const c = text.charCodeAt(i)
        if (c === 0x0d || c === 0x0a) return 'bad status line'
      }
      reason = lineEnd === 15 && text.charCodeAt(13) === 0x4f && text.charCodeAt(14) === 0x4b ? 'OK' : text.slice(13, lineEnd)
    }
    this.status = d1 * 100 + d2 * 10 + d3
    this.http10 = minor === 0x30
    this.reason = reason
    this.close = false
    let cl: string | undefined
    let te: string | undefined
    let pos = eol < 0 ? text.length : eol + 2
    while (pos < text.length) {
      let next = text.indexOf('\r\n', pos)
      if (next < 0) next = text.length
      const colon = text.indexOf(':', pos)
      if (colon <= pos || colon > next) return 'bad header line'
      const name = text.slice(pos, colon)
      let lower = KNOWN_NAMES.get(name)
      if (lower === undefined) {
        if (!isToken(name)) return 'bad header name'
        lower = name.toLowerCase()
      }
      const value = trimOws(text.slice(colon + 1, next))
      pos = next + 2
      if (!isFieldValue(value)) return 'bad header value'
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (cl !== undefined && cl !== value)) return 'bad content-length'
        cl = value
        if (headers[lower] !== undefined) continue
      } else if (lower === 'transfer-encoding') {
        if (te !== undefined) return 'repeated transfer-encoding'
        te = value.toLowerCase()
      } else if (lower === 'connection') {
        if (hasToken(value, 'close')) this.close = true
      }
      addHeader(headers, lower, value)
    }
    this.contentLength = cl
    this.transferEncoding = te
    return undefined
  }
}
