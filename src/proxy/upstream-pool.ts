// A named pool of upstream servers: the balancer, sticky-cookie and hash-key handling, the retry
// budget, and the active health checker. Server objects may be carried over by a reload.
import type { Logger } from '../internal/logger.js'
import { createBalancer, type Balancer, type BalancerPolicy } from './balancers/index.js'
import type { PoolConfig } from './config.js'
import { HealthChecker } from './health-checker.js'
import type { UpstreamPoolView } from './hooks.js'
import { UpstreamServer, type UpstreamServerOptions } from './upstream-server.js'

/** Retries allowed per second: max(minPerSec, budgetPercent of requests), over a sliding second. */
export class RetryBudget {
  readonly #percent: number
  readonly #minPerSec: number
  #windowStart = 0
  #requests = 0
  #retries = 0
  #prevRequests = 0
  #prevRetries = 0

  constructor(percent: number, minPerSec: number) {
    this.#percent = percent
    this.#minPerSec = minPerSec
  }

  #roll(now: number): void {
    if (now - this.#windowStart >= 1000) {
      const stale = now - this.#windowStart >= 2000
      this.#prevRequests = stale ? 0 : this.#requests
      this.#prevRetries = stale ? 0 : this.#retries
      this.#requests = 0
      this.#retries = 0
      this.#windowStart = now
    }
  }

  onRequest(now = Date.now()): void {
    this.#roll(now)
    this.#requests++
  }

  /** Takes one retry token if the budget allows. */
  tryRetry(now = Date.now()): boolean {
    this.#roll(now)
    const requests = this.#requests + this.#prevRequests
    const retries = this.#retries + this.#prevRetries
    const allowed = Math.max(this.#minPerSec * 2, (requests * this.#percent) / 100)
    if (retries >= allowed) return false
    this.#retries++
    return true
  }
}

export interface HashSource {
  source: 'ip' | 'header' | 'cookie' | 'path'
  name: string | undefined
}

export class UpstreamPool implements UpstreamPoolView {
  readonly name: string
  readonly config: PoolConfig
  readonly servers: readonly UpstreamServer[]
  readonly byId: ReadonlyMap<string, UpstreamServer>
  readonly balancer: Balancer<UpstreamServer>
  readonly policy: BalancerPolicy
  readonly hashOn: HashSource | undefined
  readonly retryBudget: RetryBudget
  readonly region: unknown
  #health: HealthChecker | undefined

  /** `reuse` offers servers of the previous generation; matching ones are taken over. */
  constructor(name: string, config: PoolConfig, reuse: Map<string, UpstreamServer>, fastClient = true) {
    this.name = name
    this.config = config
    this.region = config.region
    const servers: UpstreamServer[] = []
    for (const s of config.servers) {
      const spec = typeof s === 'string' ? { url: s, weight: 1 } : s
      const url = new URL(spec.url)
      const id = ('id' in spec ? spec.id : undefined) ?? url.host
      const options: UpstreamServerOptions = {
        id,
        url: spec.url,
        weight: spec.weight,
        maxConnections: ('maxConnections' in spec ? spec.maxConnections : undefined) ?? config.maxConnectionsPerServer,
        connectTimeoutMs: config.connectTimeoutMs,
        keepAliveTimeoutMs: config.keepAliveTimeoutMs,
        maxConcurrent: config.circuitBreaker.maxConcurrent,
        maxPending: config.circuitBreaker.maxPending,
        consecutive5xx: config.outlier.consecutive5xx,
        consecutiveConnectErrors: config.outlier.consecutiveConnectErrors,
        baseEjectionMs: config.outlier.baseEjectionMs,
        maxEjectionMs: config.outlier.maxEjectionMs,
        ewmaDecayMs: config.ewmaDecayMs,
        fastClient,
      }
      const key = `${name}/${id}`
      const old = reuse.get(key)
      const candidate = new UpstreamServer(options)
      if (old !== undefined && old.reuseKey === candidate.reuseKey && old.weight === candidate.weight && JSON.stringify(old.options) === JSON.stringify(candidate.options)) {
        void candidate.destroy()
        reuse.delete(key)
        servers.push(old)
      } else {
        servers.push(candidate)
      }
    }
    this.servers = servers
    this.byId = new Map(servers.map((s) => [s.id, s]))
    const balance = typeof config.balance === 'string' ? { policy: config.balance, hashOn: undefined } : config.balance
    this.policy = balance.policy
    this.balancer = createBalancer(balance.policy, servers)
    this.hashOn =
      balance.policy === 'consistent-hash' || balance.policy === 'maglev'
        ? { source: balance.hashOn?.source ?? 'ip', name: balance.hashOn?.name?.toLowerCase() }
        : undefined
    this.retryBudget = new RetryBudget(config.retry.budgetPercent, config.retry.minPerSec)
  }

  availableCount(): number {
    let n = 0
    for (const s of this.servers) if (s.available) n++
    return n
  }

  startHealthChecks(logger: Logger): void {
    if (this.config.healthCheck === undefined) return
    this.#health = new HealthChecker(this.name, this.servers, this.config.healthCheck, logger)
    this.#health.start()
  }

  async stopHealthChecks(): Promise<void> {
    await this.#health?.stop()
    this.#health = undefined
  }

  view(): Record<string, unknown> {
    return {
      name: this.name,
      policy: this.policy,
      available: this.availableCount(),
      servers: this.servers.map((s) => s.view()),
    }
  }
}
