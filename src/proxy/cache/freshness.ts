// Freshness and age per RFC 9111 §4.2 where http-cache-semantics falls short: it treats
// must-revalidate as "always revalidate" and proxy-revalidate as "never fresh", and computes age
// from the Age header alone. The freshness lifetime itself (s-maxage > max-age > Expires >
// Last-Modified heuristic) comes from its maxAge(), asked with the revalidate directives removed.
import CachePolicy from 'http-cache-semantics'
import { deltaSeconds, parseCacheControl, type Directives } from './cache-control.js'

export type HeaderMap = Record<string, string>

export interface StoredTiming {
  /** ms epoch when the request that produced this response was sent. */
  requestTime: number
  /** ms epoch when the response headers arrived. */
  responseTime: number
}

/** RFC 9111 §4.2.3 current_age in seconds. */
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

export function currentAge(headers: HeaderMap, t: StoredTiming, now: number): number {
  const date = parseDate(headers['date'])
  const dateValue = Number.isFinite(date) ? date : t.responseTime
  const ageHeader = Number(headers['age'])
  const ageValue = Number.isFinite(ageHeader) && ageHeader >= 0 ? ageHeader : 0
  const apparentAge = Math.max(0, (t.responseTime - dateValue) / 1000)
  const responseDelay = Math.max(0, (t.responseTime - t.requestTime) / 1000)
  const correctedAgeValue = ageValue + responseDelay
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue)
  const residentTime = Math.max(0, (now - t.responseTime) / 1000)
  return correctedInitialAge + residentTime
}

const REVALIDATE_ONLY = new Set(['must-revalidate', 'proxy-revalidate'])

function stripRevalidate(cc: string | undefined): string | undefined {
  if (cc === undefined) return undefined
  return cc
    .split(',')
    .filter((d) => !REVALIDATE_ONLY.has(d.trim().toLowerCase()))
    .join(',')
}

export interface Freshness {
  /** Freshness lifetime in seconds (0 when no-cache or nothing allows reuse). */
  lifetime: number
  /** Stale responses must not be served without validation (must-revalidate, proxy-revalidate, s-maxage). */
  mustRevalidate: boolean
  /** Response no-cache: every reuse needs validation. */
  noCache: boolean
  staleWhileRevalidate: number
  staleIfError: number
  directives: Directives
}

export function freshness(reqHeaders: HeaderMap, status: number, resHeaders: HeaderMap, method: string): Freshness {
  const cc = parseCacheControl(resHeaders['cache-control'])
  const policy = new CachePolicy(
    { method, url: '/', headers: reqHeaders },
    { status, headers: { ...resHeaders, ...(resHeaders['cache-control'] === undefined ? {} : { 'cache-control': stripRevalidate(resHeaders['cache-control']) as string }) } },
    { shared: true, cacheHeuristic: 0.1, immutableMinTimeToLive: 0 },
  )
  let lifetime = policy.maxAge()
  // Invalid or conflicting delta-seconds make the response stale (§1.2.2, §4.2.1).
  const sm = deltaSeconds(cc.get('s-maxage'))
  const ma = deltaSeconds(cc.get('max-age'))
  if (sm === -1 || (sm === undefined && ma === -1)) lifetime = 0
  // http-cache-semantics takes max-age=0 as "absent" and falls back to Expires; RFC: max-age wins.
  if (sm === 0 || (sm === undefined && ma === 0)) lifetime = 0
  const noCache = cc.has('no-cache')
  const swr = deltaSeconds(cc.get('stale-while-revalidate'))
  const sie = deltaSeconds(cc.get('stale-if-error'))
  return {
    lifetime: noCache ? 0 : lifetime,
    mustRevalidate: cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage'),
    noCache,
    staleWhileRevalidate: swr !== undefined && swr > 0 ? swr : 0,
    staleIfError: sie !== undefined && sie > 0 ? sie : 0,
    directives: cc,
  }
}
