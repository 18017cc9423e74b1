// Request validation after node's HTTP parser (llhttp, strict mode) and before routing. llhttp
// already refuses CL+TE, duplicate Content-Length, obs-fold, bare CR/LF and invalid header tokens
// (those arrive as `clientError`, see client-error.ts). What it lets through, and what a proxy
// must still refuse so that the request it forwards is unambiguous, is checked here from
// `rawHeaders`: repeated Host, Transfer-Encoding other than exactly "chunked" or in HTTP/1.0,
// versions other than 1.0/1.1, fragments and bad bytes in the target, absolute-form targets that
// disagree with Host, and the size limits (414, 431, 413).
import type { IncomingMessage } from 'node:http'
import { FastRequest } from '../fast/fast-message.js'
import { parseAuthority } from '../request-admission.js'
import { normalizeTarget, type NormalizeOptions } from './path-normalize.js'

export interface RequestCheckOptions extends NormalizeOptions {
  maxUrlBytes: number
  maxHeaders: number
  /** 0 means unlimited. */
  maxBodyBytes: number
}

export interface Rejection {
  status: 400 | 413 | 414 | 431
  /** Short machine-readable reason for logs and metrics (`te_not_chunked`, `dup_host`...). */
  reason: string
  detail: string
}

export interface Accepted {
  /** The normalised origin-form target to route on and forward. */
  url: string
  /** The Host to route on and forward (from the absolute-form target when one was sent). */
  host: string | undefined
}

const reject = (status: Rejection['status'], reason: string, detail: string): Rejection => ({ status, reason, detail })

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Header values: VCHAR / obs-text / SP / HTAB, no controls (llhttp checks too; cheap to repeat).
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/
const FRAMING_ALIASES = new Set(['content-length', 'transfer-encoding', 'host'])

export function isRejection(v: Rejection | Accepted): v is Rejection {
  return 'status' in v
}

/** Checks a parsed HTTP/1.x request; never throws. HTTP/2 requests only get the target checks. */
export function checkRequest(req: IncomingMessage, options: RequestCheckOptions): Rejection | Accepted {
  // A real HTTP/2 request comes from the http2 compat layer (it has a stream); "HTTP/2.0" in an
  // HTTP/1 request line is just a bad version.
  const h2 = req.httpVersionMajor === 2 && 'stream' in req
  if (!h2 && !(req.httpVersionMajor === 1 && (req.httpVersionMinor === 0 || req.httpVersionMinor === 1))) {
    return reject(400, 'bad_version', `HTTP version ${req.httpVersion} is not supported`)
  }
  const raw = req.rawHeaders
  if (raw.length / 2 > options.maxHeaders) return reject(431, 'too_many_headers', `${raw.length / 2} header fields exceed ${options.maxHeaders}`)
  let hosts = 0
  let host: string | undefined
  let cls = 0
  let cl: string | undefined
  let tes = 0
  let te: string | undefined
  // The fast path's strict head parser admits only token names and printable values.
  const fieldsChecked = req instanceof FastRequest
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    if (!h2 && !fieldsChecked && !TOKEN.test(name)) return reject(400, 'bad_header_name', `invalid header name ${JSON.stringify(name)}`)
    // CGI-style back ends map "_" to "-": Transfer_Encoding would become a second framing header.
    if (name.includes('_') && FRAMING_ALIASES.has(name.toLowerCase().replaceAll('_', '-'))) {
      return reject(400, 'ambiguous_header_name', `header name ${JSON.stringify(name)} aliases a framing header`)
    }
    if (!fieldsChecked && BAD_VALUE.test(value)) return reject(400, 'bad_header_value', `control character in header ${name}`)
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          hosts++
          host = value
        }
        break
      case 14:
        if (name.toLowerCase() === 'content-length') {
          cls++
          cl = value
        }
        break
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          tes++
          te = value
        }
        break
    }
  }
  if (!h2) {
    if (hosts > 1) return reject(400, 'dup_host', 'more than one Host header')
    if (hosts === 0 && req.httpVersionMinor === 1) return reject(400, 'no_host', 'HTTP/1.1 request without Host')
    if (host !== undefined && parseAuthority(host) === undefined) return reject(400, 'bad_host', `invalid Host ${JSON.stringify(host)}`)
    if (cls > 1) return reject(400, 'dup_content_length', 'more than one Content-Length')
    if (tes > 1) return reject(400, 'dup_transfer_encoding', 'more than one Transfer-Encoding')
    if (te !== undefined) {
      if (cl !== undefined) return reject(400, 'cl_and_te', 'both Content-Length and Transfer-Encoding')
      if (req.httpVersionMinor === 0) return reject(400, 'te_http10', 'Transfer-Encoding in an HTTP/1.0 request')
      // Only a bare "chunked" is unambiguous for every hop; codings before it are not ours to undo.
      // 400 rather than RFC 9112's suggested 501: the request is refused as malformed, not deferred.
      if (te.trim().toLowerCase() !== 'chunked') return reject(400, 'te_not_chunked', `Transfer-Encoding ${JSON.stringify(te)} is not supported`)
    }
  }
  if (cl !== undefined) {
    // Leading zeros are legal but some back ends read them as octal: refuse rather than guess.
    if (!/^(?:0|[1-9]\d{0,14})$/.test(cl.trim())) return reject(400, 'bad_content_length', `invalid Content-Length ${JSON.stringify(cl)}`)
    if (options.maxBodyBytes > 0 && Number(cl) > options.maxBodyBytes) {
      return reject(413, 'body_too_large', `Content-Length ${cl} exceeds ${options.maxBodyBytes}`)
    }
  }
  let target = req.url ?? ''
  if (Buffer.byteLength(target) > options.maxUrlBytes) return reject(414, 'uri_too_long', `request target longer than ${options.maxUrlBytes} bytes`)
  if (target === '*') {
    if (req.method === 'OPTIONS') return { url: '*', host }
    return reject(400, 'bad_target', 'asterisk-form target outside OPTIONS')
  }
  if (!target.startsWith('/')) {
    // absolute-form: allowed by RFC 9112, but only when it names the same host as Host, so that
    // routing and the origin cannot see two different authorities.
    const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target)
    if (m === null || req.method === 'CONNECT') return reject(400, 'bad_target', `invalid request target ${JSON.stringify(target.slice(0, 64))}`)
    const authority = (m[1] as string).toLowerCase()
    if (authority === '' || authority.includes('@')) return reject(400, 'bad_target', 'absolute-form target without a usable authority')
    if (host !== undefined && host.toLowerCase() !== authority) return reject(400, 'host_mismatch', 'absolute-form authority differs from Host')
    host = authority
    target = (m[2] as string) === '' ? '/' : (m[2] as string)
    if (!target.startsWith('/')) target = `/${target}`
  }
  if (target.includes('#')) return reject(400, 'fragment', 'fragment in request target')
  const n = normalizeTarget(target, options)
  if (!n.ok) return reject(400, 'bad_path', n.reason)
  return { url: n.path + n.query, host }
}
