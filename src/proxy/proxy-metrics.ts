// Prometheus metrics of the proxy, per route and per upstream server. The request path counts into
// plain-number cells (metric-cells.ts) looked up by name; prom-client reads them at scrape time.
import { Counter, Gauge, type Registry } from '../internal/metrics.js'
import { CellHistogram, CounterCell, CounterCells, HistogramCells, type HistogramCell } from './metric-cells.js'
import type { UpstreamPool } from './upstream-pool.js'

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

interface Series {
  classes: CounterCell[]
  duration: HistogramCell
}

/** Cells of one registry: every ProxyMetrics on it counts into the same ones, like into the same metrics. */
interface Cells {
  requests: CounterCells
  upstream: CounterCells
  duration: HistogramCells
  upstreamDuration: HistogramCells
  routes: Map<string, Series>
  /** pool name, then server id */
  servers: Map<string, Map<string, Series>>
}

const cellsByRegistry = new WeakMap<Registry, Cells>()

function classIndex(status: number): number {
  return Math.min(4, Math.max(0, Math.floor(status / 100) - 1))
}

export class ProxyMetrics {
  readonly #upstreamErrors: Counter<'pool' | 'server' | 'kind'>
  readonly #poolPanic: Counter<'pool'>
  readonly connections: Gauge<'listener'>
  readonly #cells: Cells
  #pools: () => Iterable<UpstreamPool> = () => []

  constructor(registry: Registry) {
    const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make()
    let cells = cellsByRegistry.get(registry)
    if (cells === undefined) {
      cells = { requests: new CounterCells(), upstream: new CounterCells(), duration: new HistogramCells(BUCKETS), upstreamDuration: new HistogramCells(BUCKETS), routes: new Map(), servers: new Map() }
      cellsByRegistry.set(registry, cells)
    }
    const c = cells
    this.#cells = c
    get('switchyard_proxy_requests_total', () => new Counter({ name: 'switchyard_proxy_requests_total', help: 'Client requests by route and status class', labelNames: ['route', 'class'], registers: [registry], collect: c.requests.collector() }))
    get('switchyard_proxy_upstream_responses_total', () => new Counter({ name: 'switchyard_proxy_upstream_responses_total', help: 'Upstream responses by server and status class', labelNames: ['pool', 'server', 'class'], registers: [registry], collect: c.upstream.collector() }))
    this.#upstreamErrors = get('switchyard_proxy_upstream_errors_total', () => new Counter({ name: 'switchyard_proxy_upstream_errors_total', help: 'Upstream failures without a response (connect, reset, timeout)', labelNames: ['pool', 'server', 'kind'], registers: [registry] }))
    this.#poolPanic = get('switchyard_proxy_pool_panic_total', () => new Counter({ name: 'switchyard_proxy_pool_panic_total', help: 'Requests balanced over every non-drained server because too few were up (panicThresholdPercent)', labelNames: ['pool'], registers: [registry] }))
    get('switchyard_proxy_request_duration_seconds', () => new CellHistogram(c.duration, { name: 'switchyard_proxy_request_duration_seconds', help: 'Time from request arrival to response end, by route', labelNames: ['route'], registers: [registry] }))
    get('switchyard_proxy_upstream_header_seconds', () => new CellHistogram(c.upstreamDuration, { name: 'switchyard_proxy_upstream_header_seconds', help: 'Time from dispatch to upstream response headers, by server', labelNames: ['pool', 'server'], registers: [registry] }))
    this.connections = get('switchyard_proxy_client_connections', () => new Gauge({ name: 'switchyard_proxy_client_connections', help: 'Open client connections by listener', labelNames: ['listener'], registers: [registry] }))
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this
    get('switchyard_proxy_upstream_active_requests', () => new Gauge({
      name: 'switchyard_proxy_upstream_active_requests',
      help: 'Requests in flight per upstream server',
      labelNames: ['pool', 'server'],
      registers: [registry],
      collect() {
        this.reset()
        for (const p of self.#pools()) for (const s of p.servers) this.set({ pool: p.name, server: s.id }, s.active)
      },
    }))
    get('switchyard_proxy_upstream_up', () => new Gauge({
      name: 'switchyard_proxy_upstream_up',
      help: 'Health state per upstream server: 1 available, 0 not (see state label)',
      labelNames: ['pool', 'server', 'state'],
      registers: [registry],
      collect() {
        this.reset()
        for (const p of self.#pools()) for (const s of p.servers) this.set({ pool: p.name, server: s.id, state: s.state }, s.up ? 1 : 0)
      },
    }))
  }

  /** The pools of the current generation, read at scrape time. */
  setPools(pools: () => Iterable<UpstreamPool>): void {
    this.#pools = pools
  }

  request(route: string, status: number, seconds: number): void {
    const c = this.#cells
    let r = c.routes.get(route)
    if (r === undefined) {
      r = { classes: CLASSES.map((k) => new CounterCell({ route, class: k })), duration: c.duration.cell({ route }) }
      c.routes.set(route, r)
    }
    c.requests.inc(r.classes[classIndex(status)] as CounterCell)
    c.duration.observe(r.duration, seconds)
  }

  upstream(pool: string, server: string, status: number, headerSeconds: number): void {
    const c = this.#cells
    let byServer = c.servers.get(pool)
    if (byServer === undefined) {
      byServer = new Map()
      c.servers.set(pool, byServer)
    }
    let s = byServer.get(server)
    if (s === undefined) {
      s = { classes: CLASSES.map((k) => new CounterCell({ pool, server, class: k })), duration: c.upstreamDuration.cell({ pool, server }) }
      byServer.set(server, s)
    }
    c.upstream.inc(s.classes[classIndex(status)] as CounterCell)
    c.upstreamDuration.observe(s.duration, headerSeconds)
  }

  /** A request balanced while its pool was in panic mode (Envoy's upstream_rq_pool_panic). */
  poolPanic(pool: string): void {
    this.#poolPanic.labels(pool).inc()
  }

  upstreamError(pool: string, server: string, kind: string): void {
    this.#upstreamErrors.labels(pool, server, kind).inc()
  }
}
