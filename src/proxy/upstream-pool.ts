// A named pool of upstream servers: the balancer, sticky-cookie and hash-key handling, the retry
// budget, the active health checker, and the choice of a server for one request (sticky cookie,
// then hash key, then the balancer). Server objects may be carried over by a reload.
import type { Logger } from '../internal/logger.js'
import { createBalancer, type Balancer, type BalancerPolicy } from './balancers/index.js'
import type { PoolConfig } from './config.js'
import { HealthChecker } from './health-checker.js'
import type { UpstreamPoolView } from './plugin-api.js'
import { UpstreamServer, type UpstreamServerOptions } from './upstream-server.js'
import { cookieValue } from './cookies.js'
import type { RequestContext } from './request-context.js'

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
    for (const s of servers) s.pool = this
  }

  /** True while fewer than panicThresholdPercent of the non-drained servers are up (see refreshPanic). */
  panic = false

  /**
   * Recomputes panic mode before a pick (Envoy's healthy_panic_threshold): when too few servers are
   * up, spreading the load over all of them beats sending everything to the few left, or a self-made
   * 503. Returns 1 when the pool entered panic, -1 when it left, 0 otherwise.
   */
  refreshPanic(): -1 | 0 | 1 {
    const threshold = this.config.panicThresholdPercent
    let total = 0
    let up = 0
    if (threshold > 0) {
      for (const s of this.servers) {
        if (s.drained || s.weight === 0) continue
        total++
        if (s.up) up++
      }
    }
    const panic = total > 0 && up * 100 < threshold * total
    if (panic === this.panic) return 0
    this.panic = panic
    return panic ? 1 : -1
  }

  /** A pick for side requests (cache revalidation): the same panic rule, no hash key. */
  pick(key: string | undefined): UpstreamServer | undefined {
    this.refreshPanic()
    return this.balancer.pick(key)
  }

  /** maxEjectionPercent: may one more server be ejected? At least one server always stays in. */
  mayEject(now = Date.now()): boolean {
    const n = this.servers.length
    let ejected = 0
    for (const s of this.servers) if (s.ejectedUntil !== 0 && now < s.ejectedUntil) ejected++
    const max = Math.min(n - 1, Math.floor((n * this.config.outlier.maxEjectionPercent) / 100))
    return ejected + 1 <= max
  }

  /** Servers that are up (GSLB and health views count these; panic mode does not change them). */
  availableCount(): number {
    let n = 0
    for (const s of this.servers) if (s.up) n++
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
      panic: this.panic,
      servers: this.servers.map((s) => s.view()),
    }
  }
}

// ---- server choice: sticky cookie, hash key, balancer, circuit breaker --------------------------

/** The Set-Cookie value that pins a client to server `id` of a sticky pool. */
export function stickyCookie(st: { readonly cookie: string; readonly ttlSec: number }, id: string): string {
  return `${st.cookie}=${encodeURIComponent(id)}; Path=/; HttpOnly${st.ttlSec > 0 ? `; Max-Age=${st.ttlSec}` : ''}`
}

export function hashKey(pool: UpstreamPool, ctx: RequestContext): string | undefined {
  const h = pool.hashOn
  if (h === undefined) return undefined
  switch (h.source) {
    case 'ip':
      return ctx.clientIp
    case 'path': {
      const q = ctx.path.indexOf('?')
      return q < 0 ? ctx.path : ctx.path.slice(0, q)
    }
    case 'header': {
      const v = ctx.req.headers[h.name ?? '']
      return Array.isArray(v) ? v.join(',') : v
    }
    case 'cookie':
      return cookieValue(ctx.req.headers.cookie, h.name ?? '')
  }
}

export function pickServer(pool: UpstreamPool, ctx: RequestContext, skip: Set<UpstreamServer> | undefined): { server: UpstreamServer | undefined; circuitOpen: boolean } {
  const sticky = pool.config.sticky
  if (sticky !== undefined && skip === undefined) {
    const id = cookieValue(ctx.req.headers.cookie, sticky.cookie)
    const s = id === undefined ? undefined : pool.byId.get(id)
    if (s !== undefined && s.available && s.admits()) return { server: s, circuitOpen: false }
  }
  const key = hashKey(pool, ctx)
  let circuitOpen = false
  let tried: Set<UpstreamServer> | undefined = skip
  for (let i = 0; i <= pool.servers.length; i++) {
    const s = pool.balancer.pick(key, tried)
    if (s === undefined) return { server: undefined, circuitOpen }
    if (s.admits()) {
      if (sticky !== undefined && cookieValue(ctx.req.headers.cookie, sticky.cookie) !== s.id) ctx.stickySet = s.id
      return { server: s, circuitOpen: false }
    }
    circuitOpen = true
    tried = new Set(tried)
    tried.add(s)
  }
  return { server: undefined, circuitOpen }
}
