// The load-balancing interface every policy implements, and the target shape it balances over.
// Policies are pure selection logic: no I/O, no timers; the pool owns health and counters.

/** What a balancer needs to know about one upstream server. */
export interface BalancerTarget {
  readonly id: string
  /** Relative share; 0 means never pick. */
  readonly weight: number
  /** False when down, ejected or drained. */
  readonly available: boolean
  /** Requests in flight to this server. */
  readonly active: number
  /** Smoothed response time in ms (EWMA); 0 when unknown. */
  readonly latencyMs: number
}

export interface Balancer<T extends BalancerTarget = BalancerTarget> {
  /**
   * Picks a target, or undefined when no available target with weight > 0 is left after `skip`.
   * `key` is the request's hash key (consistent-hash policies); others ignore it.
   */
  pick(key?: string, skip?: ReadonlySet<T>): T | undefined
}

export type BalancerFactory = <T extends BalancerTarget>(targets: readonly T[]) => Balancer<T>

export function usable<T extends BalancerTarget>(t: T, skip: ReadonlySet<T> | undefined): boolean {
  return t.available && t.weight > 0 && (skip === undefined || !skip.has(t))
}

/** 32-bit FNV-1a followed by murmur3's finaliser, for well-spread hashes of short strings. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
