// The aggregation map of ExternalAggregator: key → combiner, by value (keys.ts semantics), iterated
// in a fixed order (primitive keys in insertion order, then composite keys in insertion order).
// String keys, nearly all keys in practice, live in an open-addressing table probed with their
// FNV-1a hash (hashString, the partitioners' hash, kept per entry for spills): a V8 Map keyed by
// fresh strings cost 2-3x more per record in the word count's map-side combine (it hashes every
// new string natively and chases each entry's key through its chain).
import { canonical, hashString } from './keys.js'

const isPrimitive = (k: unknown): boolean => k === null || (typeof k !== 'object' && typeof k !== 'function')

export class CombinerTable {
  /** Keys and combiners of primitive keys, in insertion order (entry index = position). */
  readonly keys: unknown[] = []
  readonly values: unknown[] = []
  /** hashString of each string entry (0 for other primitives). */
  #hashes = new Uint32Array(1 << 10)
  /**
   * Open addressing over string entries, two words per slot: the key's hash and its entry index
   * + 1 (0 = empty), so a probe compares hashes without touching the entry arrays.
   */
  #slots = new Int32Array(2 << 12)
  #mask = (1 << 12) - 1
  #strings = 0
  /** Primitive keys other than strings (numbers keep Map's SameValueZero: NaN, -0). */
  readonly #other = new Map<unknown, number>()
  /** Composite keys by canonical JSON. */
  readonly #objIndex = new Map<string, number>()
  readonly #objKeys: unknown[] = []
  readonly #objValues: unknown[] = []

  get size(): number {
    return this.keys.length + this.#objKeys.length
  }

  /**
   * Entry index of string `k` (whose hashString is `h`), or, when absent, -(slot + 1) of the
   * empty slot where `addString` puts it.
   */
  findString(k: string, h: number): number {
    const slots = this.#slots
    const mask = this.#mask
    const h32 = h | 0
    let p = (h ^ (h >>> 15)) & mask
    for (;;) {
      const e = (slots[2 * p + 1] as number) - 1
      if (e < 0) return -(p + 1)
      if (slots[2 * p] === h32 && this.keys[e] === k) return e
      p = (p + 1) & mask
    }
  }

  /** Adds string `k` at the slot `findString` returned (`at` < 0); returns its entry index. */
  addString(k: string, h: number, v: unknown, at: number): number {
    const e = this.keys.length
    this.keys.push(k)
    this.values.push(v)
    this.#setHash(e, h)
    const p = -at - 1
    this.#slots[2 * p] = h | 0
    this.#slots[2 * p + 1] = e + 1
    if (++this.#strings * 2 > this.#mask) this.#grow()
    return e
  }

  /** The hash of entry `e` if its key is a string (else 0). */
  hashAt(e: number): number {
    return this.#hashes[e] as number
  }

  /** Entry index of a non-string primitive key, or -1. */
  findOther(k: unknown): number {
    return this.#other.get(k) ?? -1
  }

  addOther(k: unknown, v: unknown): number {
    const e = this.keys.length
    this.keys.push(k)
    this.values.push(v)
    this.#setHash(e, 0)
    this.#other.set(k, e)
    return e
  }

  /** Combiner of any key (undefined when absent or stored as undefined: see `has`). */
  get(k: unknown): unknown {
    const e = this.#indexOf(k)
    if (e >= 0) return this.values[e]
    return isPrimitive(k) ? undefined : this.#objValues[this.#objIndex.get(canonical(k)) ?? -1]
  }

  has(k: unknown): boolean {
    return isPrimitive(k) ? this.#indexOf(k) >= 0 : this.#objIndex.has(canonical(k))
  }

  set(k: unknown, v: unknown): void {
    if (typeof k === 'string') {
      const h = hashString(k)
      const e = this.findString(k, h)
      if (e >= 0) this.values[e] = v
      else this.addString(k, h, v, e)
    } else if (isPrimitive(k)) {
      const e = this.findOther(k)
      if (e >= 0) this.values[e] = v
      else this.addOther(k, v)
    } else {
      const c = canonical(k)
      const e = this.#objIndex.get(c)
      if (e !== undefined) this.#objValues[e] = v
      else {
        this.#objIndex.set(c, this.#objKeys.length)
        this.#objKeys.push(k)
        this.#objValues.push(v)
      }
    }
  }

  /** [key, combiner]: primitive keys as inserted, then composite keys as inserted (the order V8 Maps gave before). */
  *entries(): IterableIterator<[unknown, unknown]> {
    for (let e = 0; e < this.keys.length; e++) yield [this.keys[e], this.values[e]]
    for (let e = 0; e < this.#objKeys.length; e++) yield [this.#objKeys[e], this.#objValues[e]]
  }

  #indexOf(k: unknown): number {
    if (typeof k === 'string') {
      const e = this.findString(k, hashString(k))
      return e >= 0 ? e : -1
    }
    return isPrimitive(k) ? this.findOther(k) : -1
  }

  #setHash(e: number, h: number): void {
    if (e >= this.#hashes.length) {
      const bigger = new Uint32Array(this.#hashes.length * 2)
      bigger.set(this.#hashes)
      this.#hashes = bigger
    }
    this.#hashes[e] = h
  }

  #grow(): void {
    const size = this.#slots.length
    const slots = new Int32Array(2 * size)
    const mask = size - 1
    const keys = this.keys
    for (let e = 0; e < keys.length; e++) {
      if (typeof keys[e] !== 'string') continue
      const h = this.#hashes[e] as number
      let p = (h ^ (h >>> 15)) & mask
      while (slots[2 * p + 1] !== 0) p = (p + 1) & mask
      slots[2 * p] = h | 0
      slots[2 * p + 1] = e + 1
    }
    this.#slots = slots
    this.#mask = mask
  }
}
