// The bounded payload cache of a file store: payloads of written records stay in memory, oldest
// evicted first, until their bytes pass the budget. Entries are the store's own index entries,
// so a hit costs nothing and eviction just drops the payload references.

export interface CacheableEntry {
  size: number
  /** Counted in the cache (written to the file, payload still held). */
  cached: boolean
  hdr: Uint8Array | undefined
  data: Uint8Array | undefined
}

export class PayloadCache<E extends CacheableEntry> {
  readonly #budget: number
  /** Entries in insertion order; [0, head) are already gone. */
  #queue: E[] = []
  #head = 0
  #bytes = 0

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes
  }

  /** Counts `e` (whose payload is set) in the cache; call evict() after a batch of adds. */
  add(e: E): void {
    e.cached = true
    this.#queue.push(e)
    this.#bytes += e.size
  }

  /** Drops `e`'s payload and stops counting it (message deleted). */
  drop(e: E): void {
    if (e.cached) this.#bytes -= e.size
    e.cached = false
    e.data = undefined
    e.hdr = undefined
  }

  evict(): void {
    while (this.#bytes > this.#budget && this.#head < this.#queue.length) {
      const e = this.#queue[this.#head++] as E
      if (e.cached) this.drop(e)
    }
    // Compact once the dead prefix dominates, so the queue does not grow without bound.
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
