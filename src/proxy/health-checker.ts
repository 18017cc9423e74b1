// Active health checks: every interval, one request per server to the configured path; rise
// consecutive successes mark a server up, fall consecutive failures mark it down.
import { request } from 'undici'
import type { Logger } from '../internal/logger.js'
import type { PoolConfig } from './config.js'
import type { UpstreamServer } from './upstream-server.js'

type HealthConfig = NonNullable<PoolConfig['healthCheck']>

export function statusMatcher(specs: readonly (number | string)[]): (status: number) => boolean {
  const ranges = specs.map((s): [number, number] => {
    if (typeof s === 'number') return [s, s]
    if (s.endsWith('xx')) {
      const c = Number(s[0]) * 100
      return [c, c + 99]
    }
    const [a, b] = s.split('-').map(Number)
    return [a ?? 0, b ?? 0]
  })
  return (status) => ranges.some(([a, b]) => status >= a && status <= b)
}

export class HealthChecker {
  readonly #servers: readonly UpstreamServer[]
  readonly #config: HealthConfig
  readonly #logger: Logger
  readonly #pool: string
  readonly #ok: (status: number) => boolean
  readonly #streak = new Map<UpstreamServer, number>()
  #timer: NodeJS.Timeout | undefined
  #running = new Set<Promise<void>>()
  #stopped = false

  constructor(pool: string, servers: readonly UpstreamServer[], config: HealthConfig, logger: Logger) {
    this.#pool = pool
    this.#servers = servers
    this.#config = config
    this.#logger = logger
    this.#ok = statusMatcher(config.expectStatus)
  }

  start(): void {
    this.#tick()
    this.#timer = setInterval(() => this.#tick(), this.#config.intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    await Promise.allSettled([...this.#running])
  }

  #tick(): void {
    for (const s of this.#servers) {
      const p = this.#check(s).finally(() => this.#running.delete(p))
      this.#running.add(p)
    }
  }

  async #check(server: UpstreamServer): Promise<void> {
    let ok = false
    try {
      const headers: Record<string, string> = { 'user-agent': 'switchyard-health' }
      if (this.#config.host !== undefined) headers['host'] = this.#config.host
      const res = await request(new URL(this.#config.path, server.origin), {
        method: this.#config.method,
        headers,
        dispatcher: server.dispatcher,
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      })
      await res.body.dump()
      ok = this.#ok(res.statusCode)
    } catch {
      ok = false
    }
    if (this.#stopped) return
    const prev = this.#streak.get(server) ?? 0
    // Positive streak counts successes, negative counts failures.
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1
    this.#streak.set(server, streak)
    if (server.healthy && streak <= -this.#config.fall) {
      server.healthy = false
      this.#logger.warn({ pool: this.#pool, server: server.id }, 'health check: server down')
    } else if (!server.healthy && streak >= this.#config.rise) {
      server.markHealthy()
      server.ejectedUntil = 0
      this.#logger.info({ pool: this.#pool, server: server.id }, 'health check: server up')
    }
  }
}
