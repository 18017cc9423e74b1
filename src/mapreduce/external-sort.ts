// External merge sort of [key, value] records by key: buffer, sort stably and spill a run when the
// estimated size passes the budget, then merge the runs with a heap (ties by run order, so the
// sort stays stable and reruns stay byte-identical).
import { compareKeys } from './keys.js'
import { NUMBER_SORT_MIN, sortPairsByNumber } from './number-sort.js'
import { estimateSize, Heap, RunReader, RunWriter } from './spill.js'

const BATCH = 4096

interface Cursor {
  run: RunReader
  order: number
}

export class ExternalSorter {
  readonly #budget: number
  readonly #dir: string
  readonly #sign: number
  #buf: [unknown, unknown][] = []
  #bytes = 0
  /** Every key buffered now is a number (then #sorted needs no comparator). */
  #numbers = true
  readonly #runs: string[] = []
  spillBytes = 0

  constructor(ascending: boolean, budgetBytes: number, spillDir: string) {
    this.#sign = ascending ? 1 : -1
    this.#budget = budgetBytes
    this.#dir = spillDir
  }

  insert(k: unknown, v: unknown): void {
    this.insertPair([k, v])
  }

  /** Takes ownership of `pair` (no copy). */
  insertPair(pair: [unknown, unknown]): void {
    this.#buf.push(pair)
    if (typeof pair[0] !== 'number') this.#numbers = false
    this.#bytes += 48 + estimateSize(pair[0]) + estimateSize(pair[1])
    if (this.#bytes > this.#budget) this.#spill()
  }

  #sorted(): [unknown, unknown][] {
    const b = this.#buf
    const numbers = this.#numbers
    this.#buf = []
    this.#bytes = 0
    this.#numbers = true
    const byNumber = numbers && b.length >= NUMBER_SORT_MIN ? sortPairsByNumber(b, this.#sign === 1) : null
    if (byNumber !== null) return byNumber
    return this.#sign === 1 ? b.sort((x, y) => compareKeys(x[0], y[0])) : b.sort((x, y) => compareKeys(y[0], x[0]))
  }

  #spill(): void {
    if (this.#buf.length === 0) return
    const w = new RunWriter(this.#dir)
    for (const [k, v] of this.#sorted()) w.push(k, v)
    w.finish()
    this.spillBytes += w.bytes
    this.#runs.push(w.path)
  }

  *results(): Generator<[unknown, unknown][]> {
    if (this.#runs.length === 0) {
      const all = this.#sorted()
      for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH)
      return
    }
    this.#spill()
    const s = this.#sign
    const heap = new Heap<Cursor>((x, y) => {
      const c = s * compareKeys(x.run.key, y.run.key)
      return c !== 0 ? c < 0 : x.order < y.order
    })
    this.#runs.forEach((path, order) => {
      const run = new RunReader(path)
      if (run.advance()) heap.push({ run, order })
    })
    let batch: [unknown, unknown][] = []
    while (heap.size > 0) {
      const top = heap.pop() as Cursor
      batch.push([top.run.key, top.run.value])
      if (batch.length >= BATCH) { yield batch; batch = [] }
      if (top.run.advance()) heap.push(top)
    }
    if (batch.length > 0) yield batch
  }
}
