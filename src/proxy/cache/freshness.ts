// Freshness and age per RFC 9111 §4.2 for a shared cache, with Surrogate-Control (Edge
// Architecture Specification) taking precedence over Cache-Control for the lifetime, and
// CDN-Cache-Control (RFC 9213) replacing Cache-Control and Expires when present: the lifetime
// (Surrogate-Control max-age > s-maxage > max-age > Expires - Date > heuristic), the current age
// (§4.2.3) and the directives that limit stale use. An Age that is not one non-negative integer
// is not used as an age (§5.1), and it makes the response stale on arrival: how old it really is
// cannot be known, so it is validated before any reuse (what the cache-tests.fyi suite requires).
import { deltaSeconds, parseSurrogateControl, type Directives } from './cache-control.js'
import { responseControl } from './cdn-cache-control.js'

export type HeaderMap = Record<string, string>

export interface StoredTiming {
  /** ms epoch when the request that produced this response was sent. */
  requestTime: number
  /** ms epoch when the response headers arrived. */
  responseTime: number
}

/** Statuses a cache may give a heuristic lifetime (RFC 9110 §15.1 "heuristically cacheable"). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

/** RFC 9111 §4.2.2's suggested fraction of the time since Last-Modified. */
const HEURISTIC_FRACTION = 0.1

const dateCache = new Map<string, number>()

/** Date.parse is slow and the hit path parses the same few Date values over and over. */
function parseDate(v: string | undefined): number {
  if (v === undefined) return Number.NaN
  let d = dateCache.get(v)
  if (d === undefined) {
    d = Date.parse(v)
    if (dateCache.size > 1000) dateCache.clear()
    dateCache.set(v, d)
  }
  return d
}

/** Age (§5.1) is one delta-seconds; anything else (a list, a sign, a fraction, junk) is invalid (undefined). */
function ageValue(v: string | undefined): number | undefined {
  if (v === undefined) return 0
  const s = v.trim()
  return /^\d+$/.test(s) ? Math.min(Number(s), 2_147_483_648) : undefined
}

/** RFC 9111 §4.2.3 current_age in seconds. */
export function currentAge(headers: HeaderMap, t: StoredTiming, now: number): number {
  const date = parseDate(headers['date'])
  const dateValue = Number.isFinite(date) ? date : t.responseTime
  const apparentAge = Math.max(0, (t.responseTime - dateValue) / 1000)
  const responseDelay = Math.max(0, (t.responseTime - t.requestTime) / 1000)
  const correctedAgeValue = (ageValue(headers['age']) ?? 0) + responseDelay
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue)
  const residentTime = Math.max(0, (now - t.responseTime) / 1000)
  return correctedInitialAge + residentTime
}

export interface Freshness {
  /** Freshness lifetime in seconds (0 when no-cache or nothing allows reuse). */
  lifetime: number
  /** Stale responses must not be served without validation (must-revalidate, proxy-revalidate, s-maxage). */
  mustRevalidate: boolean
  /** Response no-cache without a field list: every reuse needs validation. */
  noCache: boolean
  staleWhileRevalidate: number
  staleIfError: number
  directives: Directives
}

/** Surrogate-Control max-age: `max-age=60` or `max-age=60+30` (30 s usable stale when the origin errs). */
function surrogateMaxAge(v: string | true | undefined): { lifetime: number; stale: number } | undefined {
  if (typeof v !== 'string') return undefined
  const m = /^(\d+)(?:\+(\d+))?$/.exec(v)
  if (m === null) return undefined
  return { lifetime: Math.min(Number(m[1]), 2_147_483_648), stale: m[2] === undefined ? 0 : Math.min(Number(m[2]), 2_147_483_648) }
}

/** The stored response's freshness (§4.2.1); `responseTime` stands in for a missing Date. */
export function freshness(status: number, res: HeaderMap, responseTime: number): Freshness {
  const { cc, expires: expiresField } = responseControl(res)
  const sc = parseSurrogateControl(res['surrogate-control'])
  const scMax = surrogateMaxAge(sc.get('max-age'))
  const sm = deltaSeconds(cc.get('s-maxage'))
  const ma = deltaSeconds(cc.get('max-age'))
  let lifetime: number
  if (scMax !== undefined) lifetime = scMax.lifetime
  // Invalid or conflicting delta-seconds make the response stale (§1.2.2, §4.2.1).
  else if (sm !== undefined) lifetime = Math.max(0, sm)
  else if (ma !== undefined) lifetime = Math.max(0, ma)
  else if (expiresField !== undefined) {
    // §5.3: an invalid Expires (e.g. "0") means already expired.
    const expires = parseDate(expiresField)
    const date = parseDate(res['date'])
    lifetime = Number.isFinite(expires) ? Math.max(0, (expires - (Number.isFinite(date) ? date : responseTime)) / 1000) : 0
  } else {
    // §4.2.2: heuristics only without explicit expiration, for heuristically cacheable statuses or public.
    const lm = parseDate(res['last-modified'])
    const date = parseDate(res['date'])
    const base = Number.isFinite(date) ? date : responseTime
    lifetime = (HEURISTIC_STATUSES.has(status) || cc.has('public')) && Number.isFinite(lm) ? Math.max(0, ((base - lm) / 1000) * HEURISTIC_FRACTION) : 0
  }
  // An invalid Age (see the top of the file): stored, but stale from the start.
  if (ageValue(res['age']) === undefined) lifetime = 0
  const noCache = cc.get('no-cache') === true
  const swr = deltaSeconds(cc.get('stale-while-revalidate'))
  const sie = deltaSeconds(cc.get('stale-if-error'))
  return {
    lifetime: noCache ? 0 : lifetime,
    mustRevalidate: cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage'),
    noCache,
    staleWhileRevalidate: swr !== undefined && swr > 0 ? swr : 0,
    staleIfError: Math.max(sie !== undefined && sie > 0 ? sie : 0, scMax?.stale ?? 0),
    directives: cc,
  }
}
