// What a shared cache may store (RFC 9111 §3, §3.1, §5.2.2): whether a response may be stored at
// all, and which of its fields: never hop-by-hop or Connection-listed ones, nor the fields a
// `no-cache="..."` or (shared cache) `private="..."` names.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { fieldList, parseCacheControl, parseSurrogateControl } from './cache-control.js'
import { responseControl } from './cdn-cache-control.js'
import { HEURISTIC_STATUSES, type HeaderMap } from './freshness.js'
import type { StoredHeaders } from './store.js'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** Status codes this cache understands (RFC 9110 §15), for `must-understand` (§5.2.2.3). */
const UNDERSTOOD = new Set([200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505])

export type Storability = { ok: true; vary: string[] } | { ok: false; reason: string }

/**
 * §3: a GET response with a final status other than 206/304, no `no-store` (Cache-Control or
 * Surrogate-Control) unless `must-understand` with an understood status or a Surrogate-Control
 * `max-age` (which takes precedence over Cache-Control for this cache), no unqualified
 * `private`, Authorization only with public / must-revalidate / s-maxage, and either explicit
 * freshness or a heuristically cacheable status. `vary`: the names of its Vary list.
 */
export function storability(method: string, reqHeaders: HeaderMap, status: number, res: HeaderMap, vary: string[] | '*'): Storability {
  if (method !== 'GET') return { ok: false, reason: 'method' }
  if (status < 200 || status === 206 || status === 304) return { ok: false, reason: 'status' }
  if (vary === '*') return { ok: false, reason: 'vary-star' }
  // A valid CDN-Cache-Control stands in for Cache-Control and Expires (RFC 9213 §2.2).
  const { cc, expires } = responseControl(res)
  const sc = parseSurrogateControl(res['surrogate-control'])
  if (sc.has('no-store')) return { ok: false, reason: 'no-store' }
  // A Surrogate-Control max-age for this cache overrides Cache-Control's no-store here.
  if (!sc.has('max-age')) {
    if (cc.has('must-understand')) {
      if (!UNDERSTOOD.has(status)) return { ok: false, reason: 'must-understand' }
    } else if (cc.has('no-store')) return { ok: false, reason: 'no-store' }
  }
  if (cc.get('private') === true) return { ok: false, reason: 'private' }
  if (reqHeaders['authorization'] !== undefined && !cc.has('public') && !cc.has('must-revalidate') && !cc.has('s-maxage')) return { ok: false, reason: 'authorization' }
  const explicit = cc.has('public') || cc.has('max-age') || cc.has('s-maxage') || expires !== undefined || sc.has('max-age')
  if (!explicit && !HEURISTIC_STATUSES.has(status)) return { ok: false, reason: 'status' }
  return { ok: true, vary }
}

/**
 * The fields to keep of a response about to be stored (§3.1): hop-by-hop fields and those its
 * Connection names go, and so do the fields `no-cache="..."` and `private="..."` name (a shared
 * cache must not reuse them without validation, or not store them at all; dropping is both).
 */
export function storedFields(headers: OutgoingHttpHeaders | IncomingHttpHeaders | StoredHeaders): StoredHeaders {
  const drop = new Set<string>(HOP_BY_HOP)
  drop.add('x-cache')
  const conn = headers['connection']
  if (conn !== undefined) for (const t of String(conn).split(',')) drop.add(t.trim().toLowerCase())
  const ccRaw = headers['cache-control']
  if (ccRaw !== undefined) {
    const cc = parseCacheControl(Array.isArray(ccRaw) ? ccRaw.map(String) : String(ccRaw))
    for (const f of fieldList(cc.get('no-cache'))) drop.add(f)
    for (const f of fieldList(cc.get('private'))) drop.add(f)
  }
  const out: StoredHeaders = {}
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase()
    if (v === undefined || drop.has(name)) continue
    out[name] = Array.isArray(v) ? v.map(String) : String(v)
  }
  return out
}
