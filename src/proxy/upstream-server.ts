// One upstream server: its undici connection pool, health state (active checks, passive outlier
// ejection with growing backoff, admin drain), circuit breaker counters and EWMA latency.
import { Pool } from 'undici'
import { FastUpstream } from './fast/upstream-client.js'
import type { BalancerTarget } from './balancers/balancer.js'
import type { UpstreamServerView } from './plugin-api.js'

export interface UpstreamServerOptions {
  id: string
  url: string
  weight: number
  maxConnections: number
  connectTimeoutMs: number
  keepAliveTimeoutMs: number
  maxConcurrent: number
  maxPending: number
  consecutive5xx: number
  consecutiveConnectErrors: number
  baseEjectionMs: number
  maxEjectionMs: number
  ewmaDecayMs: number
  /** Send simple requests over the raw keep-alive client (http: origins only). */
  fastClient: boolean
}

export type ServerState = UpstreamServerView['state']

export class UpstreamServer implements BalancerTarget, UpstreamServerView {
  readonly id: string
  readonly url: string
  readonly origin: string
  /** host:port, for the access log. */
  readonly address: string
  readonly weight: number
  readonly dispatcher: Pool
  /** Raw HTTP/1.1 client for bodyless requests; undefined for https: origins or when turned off. */
  readonly fast: FastUpstream | undefined
  readonly options: Readonly<UpstreamServerOptions>
  /** Key that decides whether a reload may reuse this object (same connection settings). */
  readonly reuseKey: string
  active = 0
  latencyMs = 0
  /** Result of active health checks; true until a check says otherwise. */
  healthy = true
  drained = false
  ejectedUntil = 0
  ejections = 0
  #consecutive5xx = 0
  #consecutiveConnect = 0
  #latencyAt = 0
  /** Total requests and per status class since start (for the admin API). */
  readonly totals = { requests: 0, failures: 0 }

  constructor(options: UpstreamServerOptions) {
    this.options = Object.freeze({ ...options })
    this.id = options.id
    this.url = options.url
    const u = new URL(options.url)
    this.origin = u.origin
    this.address = u.host
    this.weight = options.weight
    this.reuseKey = JSON.stringify([options.url, options.maxConnections, options.connectTimeoutMs, options.keepAliveTimeoutMs, options.fastClient])
    this.dispatcher = new Pool(this.origin, {
      connections: options.maxConnections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs, 1_000),
      connect: { timeout: options.connectTimeoutMs },
      // Upstream answers are streamed to the client as they come; never cap them here.
      maxResponseSize: -1,
    })
    this.fast =
      options.fastClient && u.protocol === 'http:'
        ? new FastUpstream({
            host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
            port: u.port === '' ? 80 : Number(u.port),
            hostHeader: u.host,
            maxConnections: options.maxConnections,
            connectTimeoutMs: options.connectTimeoutMs,
            keepAliveTimeoutMs: options.keepAliveTimeoutMs,
          })
        : undefined
  }

  /**
   * Set by the pool that owns this server (the latest generation's): `panic` turns on while the pool
   * balances over every non-drained server; `mayEject` enforces maxEjectionPercent.
   */
  pool: { panic: boolean; mayEject(): boolean } | undefined = undefined

  /** Healthy, not ejected, not drained: what the pool's panic threshold counts. */
  get up(): boolean {
    return this.healthy && !this.drained && this.weight > 0 && (this.ejectedUntil === 0 || Date.now() >= this.ejectedUntil)
  }

  /** The balancer may pick it: up, or not drained while the pool is in panic. */
  get available(): boolean {
    return this.up || (this.pool?.panic === true && !this.drained && this.weight > 0)
  }

  get state(): ServerState {
    if (this.drained) return 'draining'
    if (!this.healthy) return 'down'
    if (this.ejectedUntil !== 0 && Date.now() < this.ejectedUntil) return 'ejected'
    return 'up'
  }

  /** Circuit breaker: may one more request go to this server right now? */
  admits(): boolean {
    const o = this.options
    return this.active < o.maxConcurrent && this.active - o.maxConnections < o.maxPending
  }

  /** Records a response time sample (ms) into the time-decayed EWMA. */
  observeLatency(ms: number, now = Date.now()): void {
    if (this.#latencyAt === 0) {
      this.latencyMs = ms
    } else {
      const w = Math.exp(-(now - this.#latencyAt) / this.options.ewmaDecayMs)
      this.latencyMs = this.latencyMs * w + ms * (1 - w)
    }
    this.#latencyAt = now
  }

  /** Passive health: a response arrived with this status. */
  onResponse(status: number): void {
    // A status outside 100-599 is no verdict on the server's health (the core answers 502 for it).
    if (status < 100 || status > 599) return
    this.totals.requests++
    this.#consecutiveConnect = 0
    if (status >= 500) {
      this.totals.failures++
      this.#consecutive5xx++
      if (this.options.consecutive5xx > 0 && this.#consecutive5xx >= this.options.consecutive5xx) this.eject()
    } else {
      this.#consecutive5xx = 0
      // A healthy stretch after the last ejection ended resets the backoff.
      if (this.ejections > 0 && this.ejectedUntil !== 0 && Date.now() > this.ejectedUntil + this.options.maxEjectionMs) {
        this.ejections = 0
        this.ejectedUntil = 0
      }
    }
  }

  /** Passive health: connecting failed or the connection died before a response. */
  onConnectError(): void {
    this.totals.requests++
    this.totals.failures++
    this.#consecutiveConnect++
    if (this.options.consecutiveConnectErrors > 0 && this.#consecutiveConnect >= this.options.consecutiveConnectErrors) this.eject()
  }

  /** Ejects for base x 2^(ejections) ms, capped at maxEjectionMs; not past the pool's maxEjectionPercent. */
  eject(now = Date.now()): void {
    if (this.pool !== undefined && !this.pool.mayEject()) {
      this.#consecutive5xx = 0
      this.#consecutiveConnect = 0
      return
    }
    const ms = Math.min(this.options.baseEjectionMs * 2 ** this.ejections, this.options.maxEjectionMs)
    this.ejectedUntil = now + ms
    this.ejections++
    this.#consecutive5xx = 0
    this.#consecutiveConnect = 0
  }

  /** Active check result changed the server back to healthy: clear passive ejection too. */
  markHealthy(): void {
    this.healthy = true
  }

  view(): Record<string, unknown> {
    return {
      id: this.id,
      url: this.url,
      weight: this.weight,
      state: this.state,
      available: this.available,
      healthy: this.healthy,
      drained: this.drained,
      active: this.active,
      latencyMs: Math.round(this.latencyMs * 100) / 100,
      ejections: this.ejections,
      ejectedUntil: this.ejectedUntil === 0 ? null : new Date(this.ejectedUntil).toISOString(),
      requests: this.totals.requests,
      failures: this.totals.failures,
    }
  }

  close(): Promise<void> {
    this.fast?.close()
    return this.dispatcher.close().catch(() => {})
  }

  destroy(): Promise<void> {
    this.fast?.close()
    return this.dispatcher.destroy().catch(() => {})
  }
}
