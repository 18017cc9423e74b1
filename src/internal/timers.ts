// Coarse shared timers (the undici fast-timers idea): per-connection timeouts such as idle, header
// or write deadlines are checked by one interval sweep instead of one setTimeout per socket.
// Resolution is the sweep period, which is fine for timeouts measured in seconds.

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
