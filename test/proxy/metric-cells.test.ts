// The plain-number cells must export exactly what prom-client's own counting would: the same
// observations go through both, and the two registries' /metrics texts are compared.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Counter, Histogram, Registry } from '../../src/internal/metrics.js'
import { CellHistogram, CounterCell, CounterCells, HistogramCells } from '../../src/proxy/metric-cells.js'

const BUCKETS = [0.001, 0.01, 0.1, 1]

function pair(): { cells: { counter: CounterCells; hist: HistogramCells }; ours: Registry; theirs: Registry; c: Counter<'route' | 'class'>; h: Histogram<'route'> } {
  const ours = new Registry()
  const theirs = new Registry()
  const counter = new CounterCells()
  const hist = new HistogramCells(BUCKETS)
  new Counter({ name: 'x_total', help: 'x', labelNames: ['route', 'class'], registers: [ours], collect: counter.collector() })
  new CellHistogram(hist, { name: 'x_seconds', help: 'x', labelNames: ['route'], registers: [ours] })
  const c = new Counter({ name: 'x_total', help: 'x', labelNames: ['route', 'class'], registers: [theirs] })
  const h = new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] })
  return { cells: { counter, hist }, ours, theirs, c, h }
}

test('cells export the same text as prom-client counting the same events', async () => {
  const { cells, ours, theirs, c, h } = pair()
  const cellsOf = new Map<string, { cls: CounterCell; hist: ReturnType<HistogramCells['cell']> }>()
  const events: [string, string, number][] = [
    ['b', '2xx', 0.0004],
    ['a', '5xx', 0.05],
    ['b', '2xx', 2.5],
    ['a', '2xx', 0.001],
    ['c', '4xx', 0.3],
    ['a', '5xx', 0.0099],
  ]
  for (const [route, cls, v] of events) {
    const key = `${route}/${cls}`
    let e = cellsOf.get(key)
    if (e === undefined) {
      const existing = [...cellsOf.entries()].find(([k]) => k.startsWith(`${route}/`))?.[1].hist
      e = { cls: new CounterCell({ route, class: cls }), hist: existing ?? cells.hist.cell({ route }) }
      cellsOf.set(key, e)
    }
    cells.counter.inc(e.cls)
    cells.hist.observe(e.hist, v)
    c.inc({ route, class: cls })
    h.observe({ route }, v)
  }
  const a = await ours.metrics()
  assert.equal(a, await theirs.metrics())
  assert.match(a, /x_total\{route="a",class="5xx"\} 2/)
  assert.match(a, /x_seconds_bucket\{le="\+Inf",route="b"\} 2/)
  // A second scrape reads the same state (collect resets and refills).
  assert.equal(await ours.metrics(), a)
  // The JSON export (what the cluster aggregator merges) is prom-client's own shape too.
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON())
})

test('an empty family exports no series', async () => {
  const { ours, theirs } = pair()
  assert.equal(await ours.metrics(), await theirs.metrics())
})
