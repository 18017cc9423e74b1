// Request-path counters and histograms kept in plain numbers, handed to prom-client at scrape time
// through its public API only (a Counter's collect callback; a Histogram's get()), so a request
// does no label hashing or validation.
import { Counter, Histogram, type Registry } from '../internal/metrics.js'
import type { HistogramConfiguration } from 'prom-client'

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

  /** The label sets observed so far, in first-observation order (prom-client's order). */
  get touched(): readonly HistogramCell[] {
    return this.#touched
  }
}

/** What prom-client's Histogram.get() resolves to (its interface is not exported by name). */
type HistogramExport<T extends string> = Awaited<ReturnType<Histogram<T>['get']>>
type HistogramValue<T extends string> = HistogramExport<T>['values'][number] & { exemplar: null | undefined }

/**
 * A prom-client Histogram whose series are read from HistogramCells at scrape time. prom-client
 * has no public way to set bucket counts, so instead of filling its private per-label state this
 * answers the public Metric contract, get(), itself (the registry's text and JSON exports and the
 * cluster aggregator all read metrics through it), in exactly the shape prom-client's own get()
 * has. observe()/labels() on it would count into prom-client's unused state: do not call them.
 */
export class CellHistogram<T extends string> extends Histogram<T> {
  readonly #cells: HistogramCells
  readonly #name: string
  readonly #help: string
  readonly #aggregator: NonNullable<HistogramConfiguration<T>['aggregator']>

  constructor(cells: HistogramCells, config: Omit<HistogramConfiguration<T>, 'buckets' | 'collect'>) {
    super({ ...config, buckets: [...cells.bounds] })
    this.#cells = cells
    this.#name = config.name
    this.#help = config.help
    this.#aggregator = config.aggregator ?? 'sum'
  }

  override async get(): Promise<HistogramExport<T>> {
    const bucket = `${this.#name}_bucket`
    const values: HistogramValue<T>[] = []
    const bounds = this.#cells.bounds
    for (const c of this.#cells.touched) {
      const labels = c.labels as Partial<Record<T, string | number>>
      let acc = 0
      for (let j = 0; j < bounds.length; j++) {
        acc += c.counts[j] as number
        values.push({ labels: { le: bounds[j] as number, ...labels } as Partial<Record<T, string | number>>, value: acc, metricName: bucket, exemplar: null })
      }
      values.push({ labels: { le: '+Inf', ...labels } as Partial<Record<T, string | number>>, value: c.count, metricName: bucket, exemplar: null })
      values.push({ labels: { ...labels }, value: c.sum, metricName: `${this.#name}_sum`, exemplar: undefined })
      values.push({ labels: { ...labels }, value: c.count, metricName: `${this.#name}_count`, exemplar: undefined })
    }
    // prom-client's typings declare `type` as an enum it does not export at run time; the value is the string.
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: this.#aggregator } as unknown as HistogramExport<T>
  }

  /** prom-client's Registry prefers this (undocumented) text-export variant when present: same data. */
  getForPromString(): Promise<HistogramExport<T>> {
    return this.get()
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
