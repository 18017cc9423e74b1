// Request-path counters and histograms kept in plain numbers. The prom-client metrics copy them in
// at scrape time (their collect callback), so a request does no label hashing or validation.
import { Counter, type Histogram, type Registry } from '../internal/metrics.js'

type Labels = Record<string, string>

export class CounterCell {
  readonly labels: Labels
  value = 0

  constructor(labels: Labels) {
    this.labels = labels
  }
}

export class HistogramCell {
  readonly labels: Labels
  /** Observations per bucket (not cumulative); values above the last bound land in none. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(labels: Labels, buckets: number) {
    this.labels = labels
    this.counts = new Float64Array(buckets)
  }
}

/** The label sets of one counter, listed in the order they were first incremented (prom-client's order). */
export class CounterCells {
  readonly #touched: CounterCell[] = []

  inc(cell: CounterCell, by = 1): void {
    if (cell.value === 0) this.#touched.push(cell)
    cell.value += by
  }

  /** Use as the prom-client Counter's `collect`. */
  collector(): (this: Counter<string>) => void {
    const touched = this.#touched
    return function collect(this: Counter<string>): void {
      this.reset()
      for (const c of touched) this.inc(c.labels, c.value)
    }
  }
}

/** prom-client's per-label-set state of a histogram (lib/histogram.js createBaseValues). */
interface PromHistogramEntry {
  bucketValues: Record<number, number>
  sum: number
  count: number
}

export class HistogramCells {
  readonly bounds: readonly number[]
  readonly #touched: HistogramCell[] = []

  constructor(bounds: readonly number[]) {
    this.bounds = bounds
  }

  cell(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.bounds.length)
  }

  observe(cell: HistogramCell, v: number): void {
    if (cell.count === 0) this.#touched.push(cell)
    cell.count++
    cell.sum += v
    const b = this.bounds
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        cell.counts[i] = (cell.counts[i] as number) + 1
        return
      }
    }
  }

  /**
   * Use as the prom-client Histogram's `collect`. prom-client has no public way to set bucket
   * counts, so the entries zero() creates are filled in; their shape is checked on every scrape.
   */
  collector(name: string): (this: Histogram<string>) => void {
    const touched = this.#touched
    const bounds = this.bounds
    return function collect(this: Histogram<string>): void {
      this.reset()
      for (const c of touched) this.zero(c.labels)
      const entries = Object.values((this as unknown as { hashMap: Record<string, PromHistogramEntry> }).hashMap)
      if (entries.length !== touched.length) throw new Error(`Cannot export histogram ${name}: prom-client kept ${entries.length} label sets for ${touched.length}`)
      for (let i = 0; i < touched.length; i++) {
        const c = touched[i] as HistogramCell
        const e = entries[i] as PromHistogramEntry
        if (typeof e.bucketValues !== 'object' || typeof e.count !== 'number') throw new Error(`Cannot export histogram ${name}: unexpected prom-client state`)
        for (let j = 0; j < bounds.length; j++) e.bucketValues[bounds[j] as number] = c.counts[j] as number
        e.sum = c.sum
        e.count = c.count
      }
    }
  }
}

/** A counter with one label, its cells found by that label's value. */
export class OneLabelCounter {
  readonly #label: string
  readonly #cells = new CounterCells()
  readonly #byValue = new Map<string, CounterCell>()

  constructor(label: string) {
    this.#label = label
  }

  inc(value: string): void {
    let c = this.#byValue.get(value)
    if (c === undefined) {
      c = new CounterCell({ [this.#label]: value })
      this.#byValue.set(value, c)
    }
    this.#cells.inc(c)
  }

  collector(): (this: Counter<string>) => void {
    return this.#cells.collector()
  }
}

const oneLabelCounters = new WeakMap<Registry, Map<string, OneLabelCounter>>()

/** The registry's counter `name` (created on first use) as cells; every caller shares them. */
export function oneLabelCounter(registry: Registry, name: string, help: string, label: string): OneLabelCounter {
  let byName = oneLabelCounters.get(registry)
  if (byName === undefined) {
    byName = new Map()
    oneLabelCounters.set(registry, byName)
  }
  let c = byName.get(name)
  if (c === undefined) {
    c = new OneLabelCounter(label)
    byName.set(name, c)
    new Counter({ name, help, labelNames: [label], registers: [registry], collect: c.collector() })
  }
  return c
}
