// Token-bucket rate limiting: a bucket of `burst` tokens refilled at `ratePerSec`. Over any
// interval T a key is admitted at most burst + rate*T requests. Stores are interchangeable
// (memory here, Redis in redis-store.ts) and share one conformance suite.

export interface RateSpec {
  /** Tokens added per second. */
  readonly ratePerSec: number
  /** Bucket size: requests admitted at once after an idle period. */
  readonly burst: number
}

export interface RateDecision {
  allowed: boolean
  /** Bucket size (RateLimit-Limit). */
  limit: number
  /** Whole tokens left after this request. */
  remaining: number
  /** Milliseconds until the bucket is full again (RateLimit-Reset). */
  resetMs: number
  /** When refused: milliseconds until one token is available (Retry-After). */
  retryAfterMs: number
  /** True when the shared store failed and a local fallback decided. */
  degraded: boolean
}

export interface RateStore {
  readonly name: string
  take(key: string, spec: RateSpec, cost?: number): Promise<RateDecision>
  close(): Promise<void>
}

/** Pure refill-and-take step shared by the memory store and the tests (Redis runs the same in Lua). */
export function takeTokens(
  state: { tokens: number; ts: number },
  spec: RateSpec,
  now: number,
  cost: number,
): RateDecision {
  const perMs = spec.ratePerSec / 1000
  const elapsed = Math.max(0, now - state.ts)
  let tokens = Math.min(spec.burst, state.tokens + elapsed * perMs)
  // The epsilon absorbs floating-point drift of the refill sum (0.1 + 0.1 + ... < 1).
  const allowed = tokens >= cost - 1e-9
  if (allowed) tokens -= cost
  state.tokens = tokens
  state.ts = now
  return decision(allowed, tokens, spec, cost, false)
}

export function decision(allowed: boolean, tokens: number, spec: RateSpec, cost: number, degraded: boolean): RateDecision {
  const perMs = spec.ratePerSec / 1000
  return {
    allowed,
    limit: spec.burst,
    remaining: Math.max(0, Math.floor(tokens)),
    resetMs: perMs > 0 ? Math.ceil((spec.burst - tokens) / perMs) : 0,
    retryAfterMs: allowed ? 0 : perMs > 0 ? Math.ceil((cost - tokens) / perMs) : Number.POSITIVE_INFINITY,
    degraded,
  }
}

export interface MemoryStoreOptions {
  /** Keys kept before full (idle) buckets are swept. */
  maxKeys?: number
  /** Clock, injectable for tests. */
  now?: () => number
}

export class MemoryRateStore implements RateStore {
  readonly name = 'memory'
  readonly #buckets = new Map<string, { tokens: number; ts: number }>()
  readonly #maxKeys: number
  readonly #now: () => number

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000
    this.#now = options.now ?? (() => performance.timeOrigin + performance.now())
  }

  takeSync(key: string, spec: RateSpec, cost = 1): RateDecision {
    const now = this.#now()
    let state = this.#buckets.get(key)
    if (state === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#sweep(spec, now)
      state = { tokens: spec.burst, ts: now }
      this.#buckets.set(key, state)
    }
    return takeTokens(state, spec, now, cost)
  }

  take(key: string, spec: RateSpec, cost = 1): Promise<RateDecision> {
    return Promise.resolve(this.takeSync(key, spec, cost))
  }

  get size(): number {
    return this.#buckets.size
  }

  /** Buckets that have refilled completely carry no information and can go. */
  #sweep(spec: RateSpec, now: number): void {
    const perMs = spec.ratePerSec / 1000
    for (const [k, s] of this.#buckets) {
      if (s.tokens + (now - s.ts) * perMs >= spec.burst) this.#buckets.delete(k)
    }
    // Still full of active keys: drop the oldest insertions rather than grow without bound.
    let excess = this.#buckets.size - Math.floor(this.#maxKeys * 0.9)
    for (const k of this.#buckets.keys()) {
      if (excess-- <= 0) break
      this.#buckets.delete(k)
    }
  }

  async close(): Promise<void> {
    this.#buckets.clear()
  }
}
