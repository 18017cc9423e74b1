// Prometheus metrics of the proxy, per route and per upstream server. Children (label sets) are
// cached so the hot path does one Map lookup and a counter add, not a label hash per request.
import { Counter, Gauge, Histogram, type Registry } from '../internal/metrics.js'
import type { UpstreamPool } from './upstream-pool.js'

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

interface Child {
  inc(v?: number): void
}
interface HistChild {
  observe(v: number): void
}

export class ProxyMetrics {
  readonly #requests: Counter<'route' | 'class'>
  readonly #upstream: Counter<'pool' | 'server' | 'class'>
  readonly #upstreamErrors: Counter<'pool' | 'server' | 'kind'>
  readonly #duration: Histogram<'route'>
  readonly #upstreamDuration: Histogram<'pool' | 'server'>
  readonly connections: Gauge<'listener'>
  readonly #routeChildren = new Map<string, Child[]>()
  readonly #serverChildren = new Map<string, Child[]>()
  readonly #durationChildren = new Map<string, HistChild>()
  readonly #upstreamDurationChildren = new Map<string, HistChild>()
  #pools: () => Iterable<UpstreamPool> = () => []

  constructor(registry: Registry) {
    const get = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make()
    this.#requests = get('switchyard_proxy_requests_total', () => new Counter({ name: 'switchyard_proxy_requests_total', help: 'Client requests by route and status class', labelNames: ['route', 'class'], registers: [registry] }))
    this.#upstream = get('switchyard_proxy_upstream_responses_total', () => new Counter({ name: 'switchyard_proxy_upstream_responses_total', help: 'Upstream responses by server and status class', labelNames: ['pool', 'server', 'class'], registers: [registry] }))
    this.#upstreamErrors = get('switchyard_proxy_upstream_errors_total', () => new Counter({ name: 'switchyard_proxy_upstream_errors_total', help: 'Upstream failures without a response (connect, reset, timeout)', labelNames: ['pool', 'server', 'kind'], registers: [registry] }))
    this.#duration = get('switchyard_proxy_request_duration_seconds', () => new Histogram({ name: 'switchyard_proxy_request_duration_seconds', help: 'Time from request arrival to response end, by route', labelNames: ['route'], buckets: BUCKETS, registers: [registry] }))
    this.#upstreamDuration = get('switchyard_proxy_upstream_header_seconds', () => new Histogram({ name: 'switchyard_proxy_upstream_header_seconds', help: 'Time from dispatch to upstream response headers, by server', labelNames: ['pool', 'server'], buckets: BUCKETS, registers: [registry] }))
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
        for (const p of self.#pools()) for (const s of p.servers) this.set({ pool: p.name, server: s.id, state: s.state }, s.available ? 1 : 0)
      },
    }))
  }

  /** The pools of the current generation, read at scrape time. */
  setPools(pools: () => Iterable<UpstreamPool>): void {
    this.#pools = pools
  }

  request(route: string, status: number, seconds: number): void {
    let c = this.#routeChildren.get(route)
    if (c === undefined) {
      c = CLASSES.map((k) => this.#requests.labels(route, k))
      this.#routeChildren.set(route, c)
    }
    c[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]?.inc()
    let h = this.#durationChildren.get(route)
    if (h === undefined) {
      h = this.#duration.labels(route)
      this.#durationChildren.set(route, h)
    }
    h.observe(seconds)
  }

  upstream(pool: string, server: string, status: number, headerSeconds: number): void {
    const key = `${pool}\u0000${server}`
    let c = this.#serverChildren.get(key)
    if (c === undefined) {
      c = CLASSES.map((k) => this.#upstream.labels(pool, server, k))
      this.#serverChildren.set(key, c)
    }
    c[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]?.inc()
    let h = this.#upstreamDurationChildren.get(key)
    if (h === undefined) {
      h = this.#upstreamDuration.labels(pool, server)
      this.#upstreamDurationChildren.set(key, h)
    }
    h.observe(headerSeconds)
  }

  upstreamError(pool: string, server: string, kind: string): void {
    this.#upstreamErrors.labels(pool, server, kind).inc()
  }
}
