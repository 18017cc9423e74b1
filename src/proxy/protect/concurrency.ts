// Concurrency limits: open connections per client IP and in total, in-flight requests per route.
// Excess is refused at once (the caller answers 503/429 or drops the socket); nothing queues.

export class ConnectionLimiter {
  readonly #perIp = new Map<string, number>()
  readonly #maxPerIp: number
  readonly #maxTotal: number
  #total = 0

  /** 0 means unlimited. */
  constructor(maxPerIp: number, maxTotal: number) {
    this.#maxPerIp = maxPerIp
    this.#maxTotal = maxTotal
  }

  get total(): number {
    return this.#total
  }

  count(ip: string): number {
    return this.#perIp.get(ip) ?? 0
  }

  /** Reserves a slot; false when either limit is reached (nothing is reserved then). */
  tryAcquire(ip: string): boolean {
    if (this.#maxTotal > 0 && this.#total >= this.#maxTotal) return false
    const n = this.#perIp.get(ip) ?? 0
    if (this.#maxPerIp > 0 && n >= this.#maxPerIp) return false
    this.#perIp.set(ip, n + 1)
    this.#total++
    return true
  }

  release(ip: string): void {
    const n = this.#perIp.get(ip)
    if (n === undefined) return
    if (n <= 1) this.#perIp.delete(ip)
    else this.#perIp.set(ip, n - 1)
    this.#total--
  }
}

export class InflightLimiter {
  readonly #inflight = new Map<string, number>()

  current(key: string): number {
    return this.#inflight.get(key) ?? 0
  }

  /** `max` 0 means unlimited. Returns a release function, or undefined when full. */
  tryAcquire(key: string, max: number): (() => void) | undefined {
    const n = this.#inflight.get(key) ?? 0
    if (max > 0 && n >= max) return undefined
    this.#inflight.set(key, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const m = (this.#inflight.get(key) ?? 1) - 1
      if (m <= 0) this.#inflight.delete(key)
      else this.#inflight.set(key, m)
    }
  }
}
