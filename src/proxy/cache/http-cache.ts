// The RFC 9111 shared cache engine, independent of the proxy: variant selection (Vary),
// storability, reuse decisions (fresh, max-stale, stale-while-revalidate, must-revalidate,
// request directives), validation requests and 304 merging, invalidation after unsafe methods,
// purges, and request collapsing. freshness.ts computes lifetimes and ages, storable.ts decides
// what may be stored.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { deltaSeconds, parseCacheControl } from './cache-control.js'
import { currentAge, freshness, type Freshness, type HeaderMap } from './freshness.js'
import { storability, storedFields, type Storability } from './storable.js'
import { CacheStore, variantId, type CacheEntry, type StoredHeaders } from './store.js'

export interface CacheRequest {
  method: string
  /** scheme://authority/path?query, the authority as forwarded (port included). */
  key: string
  /** Route and pool that forward the request (see CacheEntry.scope); absent = ''. */
  scope?: string
  headers: IncomingHttpHeaders
}

export type ReuseState =
  /** Serve as is. */
  | 'fresh'
  /** Stale, but the request allows it (max-stale): serve, no validation. */
  | 'stale-allowed'
  /** Stale within stale-while-revalidate: serve now, validate in the background. */
  | 'stale-while-revalidate'
  /** Must be validated with the origin before use (or served only if the origin errs and stale-if-error allows). */
  | 'validate'

export interface Lookup {
  entry: CacheEntry
  state: ReuseState
  /** Current age in seconds. */
  age: number
  fresh: Freshness
}

export interface HttpCacheOptions {
  store: CacheStore
  /** Responses larger than this are not stored. */
  maxObjectBytes: number
  /** Store responses with Set-Cookie only when marked public (default false: never share cookies). */
  now?: () => number
}

/** Not taken from a 304 into the stored response (§3.2): they describe the body we keep (Content-MD5 is its digest). */
const NOT_UPDATED = new Set(['content-length', 'content-encoding', 'content-range', 'content-md5', 'transfer-encoding'])
const UNSAFE_SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export function isUnsafeMethod(method: string): boolean {
  return !UNSAFE_SAFE.has(method)
}

/** Single-string header view for policy code (repeated fields joined per RFC 9110 §5.3). */
export function flatHeaders(h: IncomingHttpHeaders | OutgoingHttpHeaders | StoredHeaders): HeaderMap {
  const out: HeaderMap = {}
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return out
}

function varyNames(h: HeaderMap): string[] | '*' {
  const v = h['vary']
  if (v === undefined || v.trim() === '') return []
  const names = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  return names.includes('*') ? '*' : names
}

/** §4.1: field values compared after combining repeats and normalising whitespace around commas. */
function varyValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name]
  if (v === undefined) return '\u0000'
  return (Array.isArray(v) ? v.join(',') : v).replace(/\s*,\s*/g, ',').replace(/\s+/g, ' ').trim()
}

function varyValues(headers: IncomingHttpHeaders, names: readonly string[]): string {
  return names.map((n) => varyValue(headers, n)).join('\u0001')
}

const AUTHORITY_RE = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is

/** `scheme://authority` of a key, as stored. */
function originOf(key: string): string {
  const m = AUTHORITY_RE.exec(key)
  return m === null ? key : `${m[1]}${m[2]}`
}

function splitPort(authority: string): { host: string; port: string | undefined } {
  const close = authority.lastIndexOf(']')
  const colon = authority.lastIndexOf(':')
  if (colon < 0 || colon < close) return { host: authority, port: undefined }
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1) }
}

function hasPort(url: string): boolean {
  const m = AUTHORITY_RE.exec(url)
  return m !== null && splitPort(m[2] as string).port !== undefined
}

function withoutPort(url: string): string {
  const m = AUTHORITY_RE.exec(url)
  if (m === null) return url
  return `${m[1]}${splitPort(m[2] as string).host}${m[3]}`
}

function stripEtag(e: string): string {
  return e.trim().replace(/^W\//, '')
}

/** What a request without Cache-Control asks for (read only). */
export const NO_DIRECTIVES: ReadonlyMap<string, string | true> = new Map()

const DERIVED = new WeakMap<CacheEntry, { flat: HeaderMap; fresh: Freshness }>()

export interface Collapse {
  leader: boolean
  /** Followers: resolves when the leader's response is stored (or it gave up). */
  wait: Promise<void>
  /** Leader: call once the response is stored or known not to be. */
  done(): void
}

export class HttpCache {
  readonly store: CacheStore
  readonly #maxObjectBytes: number
  readonly #now: () => number
  readonly #inflight = new Map<string, { promise: Promise<void>; resolve: () => void }>()

  constructor(options: HttpCacheOptions) {
    this.store = options.store
    this.#maxObjectBytes = options.maxObjectBytes
    this.#now = options.now ?? Date.now
  }

  now(): number {
    return this.#now()
  }

  /** Finds the stored variant matching the request (memory first, then disk). */
  async find(req: CacheRequest): Promise<CacheEntry | undefined> {
    const hit = this.findInMemory(req)
    if (hit !== undefined) return hit
    for (const id of this.store.variants(req.key)) {
      if (!this.store.onDisk(id) || this.store.getMemory(id) !== undefined) continue
      const e = await this.store.getDisk(id)
      if (e !== undefined && (e.scope ?? '') === (req.scope ?? '') && varyValues(req.headers, e.vary) === e.varyValues) return e
    }
    return undefined
  }

  /** Synchronous memory-tier variant match; the hot path of a cache hit. */
  findInMemory(req: CacheRequest): CacheEntry | undefined {
    // No copy of the id set: nothing in this loop adds or removes an entry (an LRU get only reorders).
    const ids = this.store.variantIds(req.key)
    if (ids === undefined) return undefined
    const scope = req.scope ?? ''
    let best: CacheEntry | undefined
    for (const id of ids) {
      const e = this.store.getMemory(id)
      if (e === undefined || (e.scope ?? '') !== scope) continue
      if (e.vary.length > 0 && varyValues(req.headers, e.vary) !== e.varyValues) continue
      // §4.1: with several matches, the most recent response is used.
      if (best === undefined || e.responseTime > best.responseTime) best = e
    }
    return best
  }

  /** How a stored response may be used for this request (§4, §4.2.4, RFC 5861). */
  evaluate(entry: CacheEntry, req: CacheRequest): Lookup {
    // Freshness depends only on the stored response: computed once per entry (hit path).
    let derived = DERIVED.get(entry)
    if (derived === undefined) {
      const flat = flatHeaders(entry.headers)
      derived = { flat, fresh: freshness(entry.status, flat, entry.responseTime) }
      DERIVED.set(entry, derived)
    }
    const fresh = derived.fresh
    const age = currentAge(derived.flat, entry, this.#now())
    const cc = req.headers['cache-control']
    const reqCc = cc === undefined ? NO_DIRECTIVES : parseCacheControl(cc)
    const lookup = (state: ReuseState): Lookup => ({ entry, state, age, fresh })
    const pragma = req.headers['pragma']
    if (reqCc.has('no-cache') || (req.headers['cache-control'] === undefined && typeof pragma === 'string' && /no-cache/i.test(pragma))) return lookup('validate')
    if (fresh.noCache) return lookup('validate')
    const maxAge = deltaSeconds(reqCc.get('max-age'))
    if (maxAge !== undefined && (maxAge < 0 || age > maxAge)) return lookup('validate')
    const minFresh = deltaSeconds(reqCc.get('min-fresh'))
    if (minFresh !== undefined && fresh.lifetime - age < Math.max(0, minFresh)) return lookup('validate')
    if (age < fresh.lifetime) return lookup('fresh')
    const staleness = age - fresh.lifetime
    if (fresh.mustRevalidate) return lookup('validate')
    if (reqCc.has('max-stale')) {
      const ms = reqCc.get('max-stale')
      const limit = ms === true ? Number.POSITIVE_INFINITY : (deltaSeconds(ms) ?? -1)
      if (limit >= 0 && staleness <= limit) return lookup('stale-allowed')
    }
    if (fresh.staleWhileRevalidate > 0 && staleness <= fresh.staleWhileRevalidate) return lookup('stale-while-revalidate')
    return lookup('validate')
  }

  /**
   * Whether a stored response may stand in for an error: stale-if-error (RFC 5861 §4, the
   * response's or the request's allowance) or `unreachableSec` more when the origin could not be
   * reached at all (§4.2.4: a disconnected cache may serve stale). Never past must-revalidate,
   * proxy-revalidate, s-maxage or no-cache (response or request): those need a validation.
   */
  staleIfErrorAllows(l: Lookup, req: CacheRequest, unreachableSec = 0): boolean {
    if (l.fresh.mustRevalidate || l.fresh.noCache) return false
    const reqCc = parseCacheControl(req.headers['cache-control'])
    if (reqCc.has('no-cache')) return false
    const staleness = l.age - l.fresh.lifetime
    if (staleness <= 0) return true
    const reqSie = deltaSeconds(reqCc.get('stale-if-error'))
    const allowance = Math.max(l.fresh.staleIfError, reqSie !== undefined && reqSie > 0 ? reqSie : 0, unreachableSec)
    return staleness <= allowance
  }

  /**
   * Whether a response may be stored (§3), and the vary names when it may. `allowSetCookie`: a
   * response with Set-Cookie may be stored (a route's opt-in; by default a shared cache does not
   * hand one user's cookie to another, as nginx does not).
   */
  storability(req: CacheRequest, status: number, headers: OutgoingHttpHeaders | IncomingHttpHeaders, allowSetCookie = false): Storability {
    const res = flatHeaders(headers)
    const s = storability(req.method, flatHeaders(req.headers), status, res, varyNames(res))
    if (!s.ok) return s
    const vary = s.vary
    if (res['set-cookie'] !== undefined && !allowSetCookie) return { ok: false, reason: 'set-cookie' }
    const len = Number(res['content-length'])
    if (Number.isFinite(len) && len > this.#maxObjectBytes) return { ok: false, reason: 'too-large' }
    return { ok: true, vary }
  }

  get maxObjectBytes(): number {
    return this.#maxObjectBytes
  }

  /** Stores a complete response. */
  put(req: CacheRequest, status: number, headers: OutgoingHttpHeaders | IncomingHttpHeaders, body: Buffer, vary: readonly string[], requestTime: number, responseTime: number): CacheEntry {
    const stored = storedFields(headers)
    const reqHeaders: Record<string, string> = {}
    const rq = flatHeaders(req.headers)
    if (rq['host'] !== undefined) reqHeaders['host'] = rq['host']
    if (rq['authorization'] !== undefined) reqHeaders['authorization'] = 'present'
    for (const n of vary) if (rq[n] !== undefined) reqHeaders[n] = rq[n] as string
    const entry: CacheEntry = { key: req.key, ...(req.scope === undefined || req.scope === '' ? {} : { scope: req.scope }), vary: [...vary], varyValues: varyValues(req.headers, vary), status, headers: stored, body, reqHeaders, requestTime, responseTime }
    // §4.1: a new response for a URL replaces older variants with the same vary values.
    this.store.set(entry)
    return entry
  }

  /** Headers for a validation request (§4.3.1): the stored validators, never weak ones in ranged requests. */
  validationHeaders(entry: CacheEntry): Record<string, string> {
    const h: Record<string, string> = {}
    const etag = entry.headers['etag']
    const lm = entry.headers['last-modified']
    if (typeof etag === 'string') h['if-none-match'] = etag
    if (typeof lm === 'string') h['if-modified-since'] = lm
    return h
  }

  /**
   * Applies a 304 to the stored response (§4.3.4): selected by validator, its fields replace the
   * stored ones except those describing the body. Returns the updated entry, or undefined when the
   * 304 matches no stored validator (the caller must fetch a full response).
   */
  freshen(entry: CacheEntry, headers: OutgoingHttpHeaders | IncomingHttpHeaders, requestTime: number, responseTime: number): CacheEntry | undefined {
    const res = flatHeaders(headers)
    const storedEtag = typeof entry.headers['etag'] === 'string' ? entry.headers['etag'] : undefined
    const storedLm = typeof entry.headers['last-modified'] === 'string' ? entry.headers['last-modified'] : undefined
    let matches: boolean
    if (res['etag'] !== undefined) matches = storedEtag !== undefined && stripEtag(storedEtag) === stripEtag(res['etag'])
    else if (res['last-modified'] !== undefined) matches = storedLm === res['last-modified']
    else matches = true // no validator in the 304: the one stored response is selected
    if (!matches) return undefined
    const fromResponse = storedFields(headers)
    for (const name of NOT_UPDATED) delete fromResponse[name]
    // Then the merged Cache-Control's no-cache="..." / private="..." lists apply to the result.
    const merged = storedFields({ ...entry.headers, ...fromResponse })
    // The 304's own Age describes it, not the stored body's age; drop a stale one if absent.
    if (res['age'] === undefined) delete merged['age']
    const updated: CacheEntry = { ...entry, headers: merged, requestTime, responseTime }
    this.store.set(updated)
    return updated
  }

  /** Headers to send with a stored response: the stored ones with a current Age (§4, §5.1), minus Surrogate-Control (for this cache only). */
  responseHeaders(l: Lookup): StoredHeaders {
    const h: StoredHeaders = { ...l.entry.headers, age: String(Math.floor(l.age)) }
    delete h['surrogate-control']
    return h
  }

  /** Invalidation after an unsafe method (§4.4): the target URI and same-origin Location / Content-Location. */
  invalidate(key: string, responseHeaders?: OutgoingHttpHeaders | IncomingHttpHeaders): number {
    let n = this.store.deleteKey(key)
    if (responseHeaders === undefined) return n
    const origin = originOf(key)
    let base: URL
    try {
      base = new URL(key)
    } catch {
      return n // an authority URL cannot parse: only the target itself is known
    }
    const flat = flatHeaders(responseHeaders)
    for (const name of ['location', 'content-location']) {
      const v = flat[name]
      if (v === undefined) continue
      try {
        const u = new URL(v, base)
        // Keyed under the authority as the request spelled it (URL would drop a default port).
        if (u.origin === base.origin) n += this.store.deleteKey(`${origin}${u.pathname}${u.search}`)
      } catch {
        // not a URL: nothing to invalidate
      }
    }
    return n
  }

  /**
   * Purges one URL. Keys hold the authority as clients sent it, port included; a URL without a
   * port purges that host on every port (so copies stored under an odd port go too).
   */
  purgeUrl(url: string): number {
    if (hasPort(url)) return this.store.deleteKey(url)
    return this.store.deleteWhere((key) => key === url || withoutPort(key) === url)
  }

  /** Purges every URL under a prefix; without a port in the prefix, on every port (see purgeUrl). */
  purgePrefix(prefix: string): number {
    if (hasPort(prefix)) return this.store.deletePrefix(prefix)
    return this.store.deleteWhere((key) => key.startsWith(prefix) || withoutPort(key).startsWith(prefix))
  }

  /** Request collapsing: the first miss for a key leads; the others wait for it (bounded). */
  collapse(key: string, timeoutMs: number): Collapse {
    const existing = this.#inflight.get(key)
    if (existing !== undefined) {
      let timer: NodeJS.Timeout | undefined
      const wait = Promise.race([existing.promise, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]).finally(() => clearTimeout(timer))
      return { leader: false, wait, done: () => {} }
    }
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    const slot = { promise, resolve }
    this.#inflight.set(key, slot)
    let finished = false
    return {
      leader: true,
      wait: Promise.resolve(),
      done: () => {
        if (finished) return
        finished = true
        if (this.#inflight.get(key) === slot) this.#inflight.delete(key)
        resolve()
      },
    }
  }

  get inflightCount(): number {
    return this.#inflight.size
  }

  /** Variant id helper for tests and admin output. */
  static variantId(e: CacheEntry): string {
    return variantId(e)
  }
}
