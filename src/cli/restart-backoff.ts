// Restart pacing for supervised worker processes (the proxy's --workers primary): a worker that
// dies is started again, at once the first time, then with exponential backoff while deaths keep
// coming within the window, so a request that kills every worker cannot turn into a fork loop
// that starves the machine (node:cluster supervisors like pm2 and nginx's master pace the same way).

export interface RestartBackoffOptions {
  /** Delay after the second death in the window; doubles per further death. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Deaths older than this no longer count. */
  windowMs?: number
}

export class RestartBackoff {
  readonly #base: number
  readonly #max: number
  readonly #window: number
  #deaths: number[] = []

  constructor(options: RestartBackoffOptions = {}) {
    this.#base = options.baseDelayMs ?? 100
    this.#max = options.maxDelayMs ?? 30_000
    this.#window = options.windowMs ?? 60_000
  }

  /** Records a death at `now` and returns how long to wait before starting the replacement. */
  onDeath(now: number): number {
    this.#deaths = this.#deaths.filter((t) => now - t < this.#window)
    this.#deaths.push(now)
    const n = this.#deaths.length
    if (n <= 1) return 0
    return Math.min(this.#max, this.#base * 2 ** Math.min(n - 2, 30))
  }
}
