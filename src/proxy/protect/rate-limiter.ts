// A rate-limit rule: which key a request counts against (client IP, a header such as an API key,
// or the route), the bucket spec, and the store. Produces the decision plus the headers to send:
// RateLimit-Limit / -Remaining / -Reset (draft-ietf-httpapi-ratelimit-headers) and Retry-After.
import type { IncomingHttpHeaders } from 'node:http'
import type { RateDecision, RateSpec, RateStore } from './token-bucket.js'

export const RateKeySources = { IP: 'ip', HEADER: 'header', ROUTE: 'route' } as const
export type RateKeySource = (typeof RateKeySources)[keyof typeof RateKeySources]

export interface RateLimitRule {
  /** Rule name; part of the store key so rules do not share buckets. */
  readonly name: string
  readonly spec: RateSpec
  readonly key: RateKeySource
  /** For key `header`: the header name (lower case). Requests without it count by client IP. */
  readonly header?: string
}

export interface RateLimitInput {
  clientIp: string
  routeId: string
  headers: IncomingHttpHeaders
}

export interface RateLimitVerdict extends RateDecision {
  rule: string
  key: string
  headers: Record<string, string>
}

export function rateKey(rule: RateLimitRule, input: RateLimitInput): string {
  switch (rule.key) {
    case 'route':
      return `${rule.name}:route:${input.routeId}`
    case 'header': {
      const v = rule.header === undefined ? undefined : input.headers[rule.header]
      const s = Array.isArray(v) ? v[0] : v
      if (s !== undefined && s !== '') return `${rule.name}:h:${s}`
      return `${rule.name}:ip:${input.clientIp}`
    }
    default:
      return `${rule.name}:ip:${input.clientIp}`
  }
}

/** The texts of a spec that are the same for every request of a rule. */
interface SpecText {
  /** RateLimit-Policy. */
  policy: string
  /** RateLimit-Limit of the decision whose limit was `limit`. */
  limit: number
  limitText: string
}
const specTexts = new WeakMap<RateSpec, SpecText>()
/** The last spec asked about: one rule per config is the usual case, so no WeakMap lookup per request. */
let lastSpec: RateSpec | undefined
let lastText: SpecText | undefined

function specText(spec: RateSpec): SpecText {
  if (spec === lastSpec) return lastText as SpecText
  let t = specTexts.get(spec)
  if (t === undefined) {
    const windowSec = spec.ratePerSec > 0 ? Math.max(1, Math.ceil(spec.burst / spec.ratePerSec)) : 0
    t = { policy: `${spec.burst};w=${windowSec}`, limit: spec.burst, limitText: String(spec.burst) }
    specTexts.set(spec, t)
  }
  lastSpec = spec
  lastText = t
  return t
}

export function rateHeaders(d: RateDecision, spec: RateSpec): Record<string, string> {
  const t = specText(spec)
  const h: Record<string, string> = {
    'ratelimit-limit': d.limit === t.limit ? t.limitText : String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(Math.ceil(d.resetMs / 1000)),
    'ratelimit-policy': t.policy,
  }
  if (!d.allowed) h['retry-after'] = String(Number.isFinite(d.retryAfterMs) ? Math.max(1, Math.ceil(d.retryAfterMs / 1000)) : 3600)
  return h
}

/** A store that can also answer without a promise (the memory store). */
interface SyncRateStore extends RateStore {
  takeSync(key: string, spec: RateSpec, cost?: number): RateDecision
}

function isSync(store: RateStore): store is SyncRateStore {
  return typeof (store as Partial<SyncRateStore>).takeSync === 'function'
}

export class RateLimiter {
  readonly #rules: readonly RateLimitRule[]
  readonly #store: RateStore
  readonly #sync: SyncRateStore | undefined
  /**
   * Per rule keyed by client address: the last address and its key. A keep-alive connection's
   * requests come from one address, and the same key string (its hash already computed) finds
   * the bucket without building a new string per request.
   */
  readonly #lastIp: (string | undefined)[]
  readonly #lastKey: string[]

  constructor(rules: readonly RateLimitRule[], store: RateStore) {
    this.#rules = rules
    this.#store = store
    this.#sync = isSync(store) ? store : undefined
    this.#lastIp = rules.map(() => undefined)
    this.#lastKey = rules.map(() => '')
  }

  /** rateKey(), remembering the last key of each rule keyed by client address. */
  #key(i: number, rule: RateLimitRule, input: RateLimitInput): string {
    if (rule.key !== 'ip') return rateKey(rule, input)
    if (this.#lastIp[i] === input.clientIp) return this.#lastKey[i] as string
    const key = rateKey(rule, input)
    this.#lastIp[i] = input.clientIp
    this.#lastKey[i] = key
    return key
  }

  /** checkSync() may be used: the store decides without I/O (no promise per request). */
  get sync(): boolean {
    return this.#sync !== undefined
  }

  /** check() for a synchronous store (see `sync`); the same verdicts, in the same order. */
  checkSync(input: RateLimitInput): RateLimitVerdict | undefined {
    const store = this.#sync
    if (store === undefined) throw new TypeError('Cannot check rate limits synchronously: the store is asynchronous; use check()')
    let tightest: RateLimitVerdict | undefined
    const rules = this.#rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as RateLimitRule
      const key = this.#key(i, rule, input)
      const d = store.takeSync(key, rule.spec)
      const v = verdict(d, rule, key)
      if (!d.allowed) return v
      if (tightest === undefined || d.remaining < tightest.remaining) tightest = v
    }
    return tightest
  }

  get store(): RateStore {
    return this.#store
  }

  /**
   * Checks every rule; the first refusal wins. With no refusal the verdict of the rule with the
   * fewest tokens left is returned (its headers are the informative ones). Undefined: no rules.
   * Rejects with ERR_PROXY_RATE_STORE_DOWN when a fail-closed store is down.
   */
  async check(input: RateLimitInput): Promise<RateLimitVerdict | undefined> {
    let tightest: RateLimitVerdict | undefined
    const rules = this.#rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as RateLimitRule
      const key = this.#key(i, rule, input)
      const d = await this.#store.take(key, rule.spec)
      const v = verdict(d, rule, key)
      if (!d.allowed) return v
      if (tightest === undefined || d.remaining < tightest.remaining) tightest = v
    }
    return tightest
  }
}

function verdict(d: RateDecision, rule: RateLimitRule, key: string): RateLimitVerdict {
  return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, resetMs: d.resetMs, retryAfterMs: d.retryAfterMs, degraded: d.degraded, rule: rule.name, key, headers: rateHeaders(d, rule.spec) }
}
