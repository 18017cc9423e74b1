// Producer flow control, after nats-server's fast-producer stall (client.go: stalledWait, stc):
// when a message from a network publisher lands on a subscriber whose pending outbound bytes are
// over 3/4 of max_pending, the publisher's reads pause so the subscriber can drain. Each pause is
// bounded (STALL_MIN_MS, doubling on consecutive stalls up to STALL_MAX_MS) and ends early as soon
// as that subscriber is back under the threshold, so a subscriber that stopped reading slows its
// publishers only by the cap per read until the write deadline or max_pending cuts it.

/** First pause of a publisher that was not stalled on its previous read. */
export const STALL_MIN_MS = 2
/** Longest single pause; a publisher stalled on every read doubles up to this. */
export const STALL_MAX_MS = 16
/** How often paused publishers are checked for an early resume. */
const POLL_MS = 1

/** The slice of a client that flow control works on (kept small so it can be tested alone). */
export interface StallableClient {
  readonly cid: number
  readonly closed: boolean
  /** Bytes queued for this client and not yet taken by the kernel. */
  readonly pendingBytes: number
  pauseReads(): void
  resumeReads(): void
}

interface Stall {
  producer: StallableClient
  target: StallableClient
  until: number
}

export interface StallStats {
  /** Pauses started (nats-server's `stalled_clients`). */
  stalls: number
  /** Pauses that ran their full length instead of ending because the subscriber drained. */
  stallTimeouts: number
}

export class ProducerFlow {
  readonly thresholdBytes: number
  readonly stats: StallStats = { stalls: 0, stallTimeouts: 0 }
  readonly #active = new Map<StallableClient, Stall>()
  /** Next pause length per producer; reset when a read ends without a stall. */
  readonly #ttl = new WeakMap<StallableClient, number>()
  #timer: NodeJS.Timeout | undefined
  readonly #tick = (): void => this.#poll()

  constructor(maxPendingBytes: number) {
    this.thresholdBytes = Math.floor((maxPendingBytes / 4) * 3)
  }

  /** Whether `producer`'s reads are paused right now. */
  isStalled(producer: StallableClient): boolean {
    return this.#active.has(producer)
  }

  /** The subscriber a paused publisher waits for. */
  targetOf(producer: StallableClient): StallableClient | undefined {
    return this.#active.get(producer)?.target
  }

  /** Publishers paused right now. */
  get stalledCount(): number {
    return this.#active.size
  }

  /** A read of `producer` ended without touching a subscriber over the threshold. */
  clear(producer: StallableClient): void {
    if (this.#ttl.has(producer)) this.#ttl.delete(producer)
  }

  /** Pauses `producer`'s reads until `target` is under the threshold or the pause runs out; false if no pause was needed. */
  stall(producer: StallableClient, target: StallableClient): boolean {
    if (producer.closed || this.#active.has(producer)) return false
    if (target.closed || target.pendingBytes <= this.thresholdBytes) return false
    const ttl = this.#ttl.get(producer) ?? STALL_MIN_MS
    this.#ttl.set(producer, Math.min(STALL_MAX_MS, ttl * 2))
    this.stats.stalls++
    this.#active.set(producer, { producer, target, until: Date.now() + ttl })
    producer.pauseReads()
    this.#schedule()
    return true
  }

  /** Resumes everything (server shutdown). */
  releaseAll(): void {
    for (const s of this.#active.values()) this.#release(s)
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    if (this.#timer === undefined && this.#active.size > 0) this.#timer = setTimeout(this.#tick, POLL_MS)
  }

  #poll(): void {
    this.#timer = undefined
    const now = Date.now()
    for (const s of this.#active.values()) {
      if (s.producer.closed || s.target.closed || s.target.pendingBytes <= this.thresholdBytes) this.#release(s)
      else if (now >= s.until) {
        this.stats.stallTimeouts++
        this.#release(s)
      }
    }
    this.#schedule()
  }

  #release(s: Stall): void {
    this.#active.delete(s.producer)
    if (!s.producer.closed) s.producer.resumeReads()
  }
}
