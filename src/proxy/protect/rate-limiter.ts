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

/** RateLimit-Policy of a spec; the same string for every request of a rule. */
const policies = new WeakMap<RateSpec, string>()
function policyOf(spec: RateSpec): string {
  let p = policies.get(spec)
  if (p === undefined) {
    const windowSec = spec.ratePerSec > 0 ? Math.max(1, Math.ceil(spec.burst / spec.ratePerSec)) : 0
    p = `${spec.burst};w=${windowSec}`
    policies.set(spec, p)
  }
  return p
}

export function rateHeaders(d: RateDecision, spec: RateSpec): Record<string, string> {
  const h: Record<string, string> = {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(Math.ceil(d.resetMs / 1000)),
    'ratelimit-policy': policyOf(spec),
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

  constructor(rules: readonly RateLimitRule[], store: RateStore) {
    this.#rules = rules
    this.#store = store
    this.#sync = isSync(store) ? store : undefined
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
    for (const rule of this.#rules) {
      const key = rateKey(rule, input)
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
    for (const rule of this.#rules) {
      const key = rateKey(rule, input)
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
