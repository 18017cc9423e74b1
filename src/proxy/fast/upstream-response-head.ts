// The strict parser for an upstream response head (status line and header fields, CRLF-separated,
// without the final blank line). One instance per connection is refilled for every response, so
// parsing allocates no result object (the caller passes the headers object in).
import { hasToken, trimOws } from './request-head.js'
import { BAD_VALUE_RE, TOKEN_RE } from './upstream-request-head.js'

const STATUS_RE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/

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
    const m = STATUS_RE.exec(eol < 0 ? text : text.slice(0, eol))
    if (m === null) return 'bad status line'
    this.status = Number(m[2])
    this.http10 = m[1] === '0'
    this.reason = m[3] ?? ''
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
      if (!TOKEN_RE.test(name)) return 'bad header name'
      const value = trimOws(text.slice(colon + 1, next))
      pos = next + 2
      if (BAD_VALUE_RE.test(value)) return 'bad header value'
      const lower = name.toLowerCase()
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
