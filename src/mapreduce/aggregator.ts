// Spilling hash aggregation (map-side combine and reduce-side merge): values are combined per key
// in a hash map; when the estimated size passes the task's budget the map is sorted by
// (hash, key), written as a run and cleared. The result merges the runs (and what is still in
// memory) with a heap, combining equal keys, so memory stays bounded by the budget.
import { compileFn } from './closure.js'
import { CombinerTable } from './combiner-table.js'
import { compareHashed, hashKey, hashString } from './keys.js'
import { estimateSize, Heap, RunReader, RunWriter } from './spill.js'
import type { AggregatorSpec } from './task-spec.js'

export interface CompiledAggregator {
  create(v: unknown): unknown
  mergeValue(c: unknown, v: unknown): unknown
  mergeCombiners(a: unknown, b: unknown): unknown
  /** Combiners grow with every value (groupByKey, cogroup): size estimates must follow. */
  readonly growing: boolean
}

const clone = (z: unknown): unknown => (z !== null && typeof z === 'object' ? structuredClone(z) : z)

export async function compileAggregator(spec: AggregatorSpec): Promise<CompiledAggregator> {
  switch (spec.kind) {
    case 'reduce': {
      const { fn, env } = await compileFn(spec.fn)
      return { create: (v) => v, mergeValue: (c, v) => fn(c, v, env), mergeCombiners: (a, b) => fn(a, b, env), growing: false }
    }
    case 'fold': {
      const { fn, env } = await compileFn(spec.fn)
      const zero = spec.zero
      return { create: (v) => fn(clone(zero), v, env), mergeValue: (c, v) => fn(c, v, env), mergeCombiners: (a, b) => fn(a, b, env), growing: false }
    }
    case 'aggregate': {
      const seq = await compileFn(spec.seq)
      const comb = await compileFn(spec.comb)
      const zero = spec.zero
      return {
        create: (v) => seq.fn(clone(zero), v, seq.env),
        mergeValue: (c, v) => seq.fn(c, v, seq.env),
        mergeCombiners: (a, b) => comb.fn(a, b, comb.env),
        growing: false,
      }
    }
    case 'combine': {
      const create = await compileFn(spec.create)
      const mv = await compileFn(spec.mergeValue)
      const mc = await compileFn(spec.mergeCombiners)
      return {
        create: (v) => create.fn(v, create.env),
        mergeValue: (c, v) => mv.fn(c, v, mv.env),
        mergeCombiners: (a, b) => mc.fn(a, b, mc.env),
        growing: false,
      }
    }
    case 'group':
      return {
        create: (v) => [v],
        mergeValue: (c, v) => { (c as unknown[]).push(v); return c },
        mergeCombiners: (a, b) => { for (const x of b as unknown[]) (a as unknown[]).push(x); return a },
        growing: true,
      }
    case 'cogroup': {
      // Per record: index the tagged pair (no destructuring), push the value.
      const n = spec.inputs
      return {
        create: (tv) => {
          const c: unknown[][] = new Array(n)
          for (let i = 0; i < n; i++) c[i] = []
          const x = tv as [number, unknown]
          ;(c[x[0]] as unknown[]).push(x[1])
          return c
        },
        mergeValue: (c, tv) => {
          const x = tv as [number, unknown]
          ;((c as unknown[][])[x[0]] as unknown[]).push(x[1])
          return c
        },
        mergeCombiners: (a, b) => {
          const x = a as unknown[][]
          const y = b as unknown[][]
          for (let i = 0; i < n; i++) for (const v of y[i] as unknown[]) (x[i] as unknown[]).push(v)
          return x
        },
        growing: true,
      }
    }
    case 'first':
      return { create: (v) => v, mergeValue: (c) => c, mergeCombiners: (a) => a, growing: false }
  }
}

/** Bytes charged per distinct key besides its key and combiner (fused reducers replay the same accounting). */
export const ENTRY_OVERHEAD = 64
const BATCH = 4096

interface Cursor {
  run: RunReader
  hash: number
  order: number
}

export class ExternalAggregator {
  readonly #agg: CompiledAggregator
  readonly #budget: number
  readonly #dir: string
  #map = new CombinerTable()
  #bytes = 0
  readonly #runs: string[] = []
  spillBytes = 0

  constructor(agg: CompiledAggregator, budgetBytes: number, spillDir: string) {
    this.#agg = agg
    this.#budget = budgetBytes
    this.#dir = spillDir
  }

  /** Adds a raw value (create / mergeValue). */
  insertValue(k: unknown, v: unknown): void {
    if (typeof k === 'string') {
      // Hot path: one probe of the string table finds the entry or the slot for a new one.
      const map = this.#map
      const h = hashString(k)
      const e = map.findString(k, h)
      if (e >= 0) {
        const values = map.values
        values[e] = this.#agg.mergeValue(values[e], v)
        if (this.#agg.growing) {
          this.#bytes += 8 + estimateSize(v)
          if (this.#bytes > this.#budget) this.spill()
        }
        return
      }
      const nc = this.#agg.create(v)
      map.addString(k, h, nc, e)
      this.#bytes += ENTRY_OVERHEAD + 24 + k.length + estimateSize(nc)
      if (this.#bytes > this.#budget) this.spill()
      return
    }
    const map = this.#map
    const c = map.get(k)
    if (c === undefined && !map.has(k)) {
      const nc = this.#agg.create(v)
      map.set(k, nc)
      this.#bytes += ENTRY_OVERHEAD + estimateSize(k) + estimateSize(nc)
    } else {
      map.set(k, this.#agg.mergeValue(c, v))
      if (this.#agg.growing) this.#bytes += 8 + estimateSize(v)
    }
    if (this.#bytes > this.#budget) this.spill()
  }

  /** Adds a combiner produced by another task's map-side combine (mergeCombiners). */
  insertCombiner(k: unknown, c: unknown): void {
    if (typeof k === 'string') {
      const map = this.#map
      const h = hashString(k)
      const e = map.findString(k, h)
      if (e >= 0) {
        const values = map.values
        values[e] = this.#agg.mergeCombiners(values[e], c)
        if (this.#agg.growing) {
          this.#bytes += estimateSize(c)
          if (this.#bytes > this.#budget) this.spill()
        }
        return
      }
      map.addString(k, h, c, e)
      this.#bytes += ENTRY_OVERHEAD + 24 + k.length + estimateSize(c)
      if (this.#bytes > this.#budget) this.spill()
      return
    }
    const map = this.#map
    const old = map.get(k)
    if (old === undefined && !map.has(k)) {
      map.set(k, c)
      this.#bytes += ENTRY_OVERHEAD + estimateSize(k) + estimateSize(c)
    } else {
      map.set(k, this.#agg.mergeCombiners(old, c))
      if (this.#agg.growing) this.#bytes += estimateSize(c)
    }
    if (this.#bytes > this.#budget) this.spill()
  }

  spill(): void {
    if (this.#map.size === 0) return
    const entries: [number, unknown, unknown][] = []
    for (const [k, c] of this.#map.entries()) entries.push([hashKey(k), k, c])
    this.#map = new CombinerTable()
    this.#bytes = 0
    entries.sort((a, b) => compareHashed(a[0], a[1], b[0], b[1]))
    const w = new RunWriter(this.#dir)
    for (const e of entries) w.push(e[1], e[2])
    w.finish()
    this.spillBytes += w.bytes
    this.#runs.push(w.path)
  }

  /** The combined [key, combiner] pairs in batches. Insertion order if nothing spilled, else (hash, key) order. */
  *results(): Generator<[unknown, unknown][]> {
    if (this.#runs.length === 0) {
      let batch: [unknown, unknown][] = []
      for (const e of this.#map.entries()) {
        batch.push(e)
        if (batch.length >= BATCH) { yield batch; batch = [] }
      }
      this.#map = new CombinerTable()
      if (batch.length > 0) yield batch
      return
    }
    this.spill()
    const heap = new Heap<Cursor>((x, y) => {
      const c = compareHashed(x.hash, x.run.key, y.hash, y.run.key)
      return c !== 0 ? c < 0 : x.order < y.order
    })
    this.#runs.forEach((path, order) => {
      const run = new RunReader(path)
      if (run.advance()) heap.push({ run, hash: hashKey(run.key), order })
    })
    let batch: [unknown, unknown][] = []
    let curKey: unknown
    let curHash = 0
    let curComb: unknown
    let have = false
    let curBytes = 0
    let warned = false
    while (heap.size > 0) {
      const top = heap.pop() as Cursor
      const k = top.run.key
      const c = top.run.value
      if (have && curHash === top.hash && compareHashed(curHash, curKey, top.hash, k) === 0) {
        curComb = this.#agg.mergeCombiners(curComb, c)
        if (this.#agg.growing && !warned) {
          // One key's group must be whole in memory, whatever the budget: say so once per task.
          curBytes += estimateSize(c)
          if (curBytes > this.#budget) {
            warned = true
            process.emitWarning(`one key's values (${JSON.stringify(curKey)?.slice(0, 60) ?? String(curKey)}) hold over ${(this.#budget / 2 ** 20).toFixed(1)} MiB, the task's memory budget; a group is held whole in memory, so this task will exceed it (use reduceByKey or aggregateByKey to combine values instead of grouping them)`, { code: 'SWITCHYARD_GROUP_OVER_BUDGET' })
          }
        }
      } else {
        curBytes = this.#agg.growing ? estimateSize(c) : 0
        if (have) {
          batch.push([curKey, curComb])
          if (batch.length >= BATCH) { yield batch; batch = [] }
        }
        curKey = k
        curHash = top.hash
        curComb = c
        have = true
      }
      if (top.run.advance()) {
        top.hash = hashKey(top.run.key)
        heap.push(top)
      }
    }
    if (have) batch.push([curKey, curComb])
    if (batch.length > 0) yield batch
  }
}
