// One admission check for every way a request comes in (HTTP/1.x, the fast path, HTTP/2): the
// authority the proxy routes, keys and forwards on (Host, h2 :authority, or an absolute-form
// target), and the request line shapes a reverse proxy answers itself (CONNECT, TRACE, OPTIONS *).
// Whatever is admitted here is what the router, the cache key and the origin all see.
import type { ClientRequest } from './plugin-api.js'
import { ProxyErrorCodes } from './errors.js'

export interface Authority {
  /** Lower-case host name without port and trailing dot (IPv6 keeps its brackets). */
  host: string
  /** `host` plus `:port` when a port was given: the Host sent upstream. */
  authority: string
}

export interface Admitted {
  kind: 'admit'
  host: string
  authority: string
  /** Origin-form target (the path of an absolute-form target); undefined: req.url as is. */
  path: string | undefined
}

export interface Refused {
  kind: 'refuse'
  status: 400 | 405
  code: string
  message: string
  /** `Allow` header for 405. */
  allow?: string
}

/** Answered by the proxy itself: `OPTIONS *` asks about the server, not a resource. */
export interface AnswerOptions {
  kind: 'options'
}

export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH'

// reg-name / IPv4 (RFC 3986 3.2.2) or an IP literal; no userinfo (`@`), which RFC 9110 7.2 forbids in Host.
const HOSTNAME = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)$/
const PORT = /^\d{0,5}$/

/** Recent Host values and what they parse to: admission and the request check both parse each one. */
const authorities = new Map<string, Readonly<Authority> | null>()
const AUTHORITY_MEMO_SIZE = 256

/**
 * The last value looked up and its verdict. Admission and the request check both ask about each
 * request's Host, and a keep-alive connection sends the same one every time: a string compare
 * instead of hashing a fresh header string for the Map.
 */
let lastRaw: string | undefined
let lastAuthority: Readonly<Authority> | null = null

/** Parses a Host / :authority value; undefined when it is not a valid `host[:port]`. */
export function parseAuthority(raw: string): Readonly<Authority> | undefined {
  if (raw === lastRaw) return lastAuthority ?? undefined
  if (raw.length > 255) return parseAuthorityOnce(raw)
  let a = authorities.get(raw)
  if (a === undefined) {
    a = parseAuthorityOnce(raw) ?? null
    if (authorities.size >= AUTHORITY_MEMO_SIZE) authorities.clear()
    a = a === null ? null : Object.freeze(a)
    authorities.set(raw, a)
  }
  lastRaw = raw
  lastAuthority = a
  return a ?? undefined
}

function parseAuthorityOnce(raw: string): Authority | undefined {
  let name = raw
  let port = ''
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']')
    if (close < 0) return undefined
    name = raw.slice(0, close + 1)
    const rest = raw.slice(close + 1)
    if (rest !== '') {
      if (rest.charCodeAt(0) !== 58 /* : */) return undefined
      port = rest.slice(1)
    }
  } else {
    const colon = raw.indexOf(':')
    if (colon >= 0) {
      name = raw.slice(0, colon)
      port = raw.slice(colon + 1)
    }
  }
  if (!HOSTNAME.test(name) || !PORT.test(port)) return undefined
  if (port !== '' && Number(port) > 65535) return undefined
  name = name.toLowerCase()
  // `a.com.` is the same name as `a.com` (absolute DNS form): one route, one cache key, one Host.
  if (name.length > 1 && name.endsWith('.') && name.charCodeAt(0) !== 91) {
    name = name.slice(0, -1)
    if (name.endsWith('.')) return undefined
  }
  return { host: name, authority: port === '' ? name : `${name}:${port}` }
}

const refuse = (status: 400 | 405, code: string, message: string, allow?: string): Refused => ({ kind: 'refuse', status, code, message, ...(allow === undefined ? {} : { allow }) })

const ABSOLUTE = /^https?:\/\/([^/?#]*)(.*)$/i

/** Decides the authority of a request, or how the proxy answers it itself. Never throws. */
export function admitRequest(req: ClientRequest): Admitted | Refused | AnswerOptions {
  const method = req.method ?? 'GET'
  if (method === 'CONNECT') return refuse(400, ProxyErrorCodes.BAD_REQUEST, 'CONNECT is not supported by a reverse proxy')
  // TRACE echoes the request (credentials included) back: nginx answers 405 too.
  if (method === 'TRACE') return refuse(405, ProxyErrorCodes.METHOD_NOT_ALLOWED, 'TRACE is not allowed', ALLOWED_METHODS)
  const url = req.url ?? '/'
  if (url === '*') {
    if (method === 'OPTIONS') return { kind: 'options' }
    return refuse(400, ProxyErrorCodes.BAD_REQUEST, 'asterisk-form target outside OPTIONS')
  }
  const h2 = 'stream' in req
  const headers = req.headers
  let raw: string | undefined
  let path: string | undefined
  if (h2) {
    const a = headers[':authority'] as string | undefined
    const h = headers.host
    // RFC 9113 8.3.1: when both are sent they name the same authority.
    if (a !== undefined && h !== undefined && a.toLowerCase() !== h.toLowerCase()) return refuse(400, ProxyErrorCodes.BAD_HOST, ':authority and Host differ')
    raw = a ?? h
  } else {
    let hosts = 0
    const rh = req.rawHeaders
    for (let i = 0; i < rh.length; i += 2) {
      const n = rh[i] as string
      if (n.length === 4 && n.toLowerCase() === 'host') hosts++
    }
    if (hosts > 1) return refuse(400, ProxyErrorCodes.BAD_HOST, 'more than one Host header')
    raw = headers.host
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (RFC 9112 3.2.2): its authority wins over Host, in HTTP/1.0 as in 1.1.
      const m = ABSOLUTE.exec(url)
      if (m === null) return refuse(400, ProxyErrorCodes.BAD_REQUEST, 'request target is neither origin-form nor absolute-form')
      const fromTarget = parseAuthority(m[1] as string)
      if (fromTarget === undefined || fromTarget.host === '') return refuse(400, ProxyErrorCodes.BAD_HOST, 'absolute-form target without a usable authority')
      if (raw !== undefined) {
        const fromHost = parseAuthority(raw)
        if (fromHost === undefined || fromHost.authority !== fromTarget.authority) return refuse(400, ProxyErrorCodes.BAD_HOST, 'absolute-form authority differs from Host')
      }
      const rest = m[2] as string
      path = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`
      return { kind: 'admit', host: fromTarget.host, authority: fromTarget.authority, path }
    }
    if (raw === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) return refuse(400, ProxyErrorCodes.BAD_HOST, 'HTTP/1.1 request without Host')
  }
  if (raw === undefined) return { kind: 'admit', host: '', authority: '', path }
  const a = parseAuthority(raw)
  if (a === undefined) return refuse(400, ProxyErrorCodes.BAD_HOST, `invalid ${h2 ? ':authority' : 'Host'} ${JSON.stringify(raw.slice(0, 100))}`)
  return { kind: 'admit', host: a.host, authority: a.authority, path }
}
