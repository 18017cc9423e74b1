// The records of one partition as a mapPartitions function gets them (see PartitionRecords in
// dataset-types.ts for the user's view): per-record iteration over the input's batches, or the batches.
import type { Batches } from './task-batches.js'

/**
 * The records of a partition as mapPartitions sees them: steps through the input's batches with one
 * settled promise per record instead of an async generator resuming per record (3x cheaper), and
 * closes the input when the consumer stops early. Iterates once, like the generator it replaces.
 * `batches()` hands out the input's arrays themselves: one await per batch instead of per record.
 */
export class PartitionRecords implements AsyncIterableIterator<unknown> {
  readonly #src: Batches
  #batch: unknown[] = []
  #i = 0

  constructor(src: Batches) {
    this.#src = src
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<unknown>> {
    const b = this.#batch
    return this.#i < b.length ? Promise.resolve({ done: false, value: b[this.#i++] }) : this.#pull()
  }

  async #pull(): Promise<IteratorResult<unknown>> {
    for (;;) {
      const r = await this.#src.next()
      if (r.done === true) return { done: true, value: undefined }
      this.#batch = r.value
      this.#i = 0
      if (this.#batch.length > 0) return { done: false, value: this.#batch[this.#i++] }
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#batch = []
    await this.#src.return(undefined)
    return { done: true, value: undefined }
  }

  /** The remaining records as arrays (records already taken with next() are not repeated). */
  async *batches(): AsyncGenerator<readonly unknown[]> {
    const rest = this.#batch.slice(this.#i)
    this.#batch = []
    this.#i = 0
    if (rest.length > 0) yield rest
    for (;;) {
      const r = await this.#src.next()
      if (r.done === true) return
      if (r.value.length > 0) yield r.value
    }
  }
}
