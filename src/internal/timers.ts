// Coarse shared timers (the undici fast-timers idea): per-connection timeouts such as idle, header
// or write deadlines are checked by one interval sweep instead of one setTimeout per socket.
// Resolution is the sweep period, which is fine for timeouts measured in seconds. Owners that keep
// their own per-connection timestamps and read their limits at sweep time use sweepEvery().

export interface CoarseTimer {
  /** Restarts the countdown from now. */
  refresh(): void
  clear(): void
}

interface Entry {
  deadline: number
  ms: number
  fire: () => void
  active: boolean
}

export class CoarseTimerWheel {
  readonly #entries = new Set<Entry>()
  readonly #periodMs: number
  #interval: NodeJS.Timeout | undefined

  constructor(periodMs = 250) {
    this.#periodMs = periodMs
  }

  /** Calls `fire` once, between ms and ms + period after the last refresh, unless cleared. */
  setTimeout(fire: () => void, ms: number): CoarseTimer {
    const entry: Entry = { deadline: Date.now() + ms, ms, fire, active: true }
    this.#entries.add(entry)
    this.#start()
    return {
      refresh: () => {
        entry.deadline = Date.now() + entry.ms
        if (!entry.active) {
          entry.active = true
          this.#entries.add(entry)
          this.#start()
        }
      },
      clear: () => {
        entry.active = false
        this.#entries.delete(entry)
      },
    }
  }

  get size(): number {
    return this.#entries.size
  }

  #start(): void {
    if (this.#interval !== undefined) return
    this.#interval = setInterval(() => this.#sweep(), this.#periodMs)
    this.#interval.unref()
  }

  #sweep(): void {
    const now = Date.now()
    for (const entry of this.#entries) {
      if (entry.deadline <= now) {
        entry.active = false
        this.#entries.delete(entry)
        try {
          entry.fire()
        } catch {
          // A timeout callback must not take the sweep (and every other connection) down.
        }
      }
    }
    if (this.#entries.size === 0 && this.#interval !== undefined) {
      clearInterval(this.#interval)
      this.#interval = undefined
    }
  }
}

/** Process-wide wheel for timeouts of one second or more. */
export const sharedTimers = new CoarseTimerWheel(250)

interface Sweep {
  readonly interval: NodeJS.Timeout
  readonly checks: Set<() => void>
}

/** One unref'd interval per period, shared by every sweepEvery() check with that period. */
const sweeps = new Map<number, Sweep>()

/**
 * Calls `check` every `periodMs` until the returned stop function is called. Checks with the same
 * period share one unref'd setInterval, which runs only while one is registered; a check's first
 * call comes at most one period after it starts. A throwing check does not stop the others;
 * its error is rethrown after them (never swallowed).
 */
export function sweepEvery(periodMs: number, check: () => void): () => void {
  let sweep = sweeps.get(periodMs)
  if (sweep === undefined) {
    const checks = new Set<() => void>()
    const interval = setInterval(() => {
      // One owner's failing check must not stop the others' timeouts; the first failure is then
      // rethrown (an uncaught exception, as a check on its own timer would be), never swallowed.
      let failure: unknown
      let failed = false
      for (const c of checks) {
        try {
          c()
        } catch (err) {
          if (!failed) failure = err
          failed = true
        }
      }
      if (failed) throw failure
    }, periodMs)
    interval.unref()
    sweep = { interval, checks }
    sweeps.set(periodMs, sweep)
  }
  // A wrapper per registration, so the same function registered twice is stopped once each.
  const entry = (): void => check()
  const own = sweep
  own.checks.add(entry)
  return () => {
    if (!own.checks.delete(entry) || own.checks.size > 0) return
    clearInterval(own.interval)
    if (sweeps.get(periodMs) === own) sweeps.delete(periodMs)
  }
}
