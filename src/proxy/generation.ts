// One config generation: router, pools, plugin hooks and certificates built from one config.
// Requests pin the generation they started on; a retired generation closes when idle.
import type { Logger } from '../internal/logger.js'
import type { Registry } from '../internal/metrics.js'
import type { AdminServer } from '../internal/admin-server.js'
import type { ListenerConfig, ProxyConfig } from './config.js'
import { ProxyError, ProxyErrorCodes } from './errors.js'
import { TrustedProxies, type ForwardingOptions } from './forwarding-headers.js'
import type { ProxyHooks, ProxyPlugin, UpstreamPoolView } from './plugin-api.js'
import { Router } from './router.js'
import { loadCertStore, type CertStore } from './tls-certs.js'
import { UpstreamPool } from './upstream-pool.js'
import type { UpstreamServer } from './upstream-server.js'

export function listenerKey(l: ListenerConfig, index: number): string {
  return l.port === 0 ? `${l.protocol}|${l.address}|0#${index}` : `${l.protocol}|${l.address}|${l.port}`
}

export function listenerName(l: ListenerConfig): string {
  return l.name ?? `${l.protocol}:${l.port}`
}

export interface GenerationDeps {
  logger: Logger
  registry: Registry
  admin: AdminServer | undefined
  plugins: readonly ProxyPlugin[]
  previous: Generation | undefined
}

export class Generation {
  static #ids = 0
  readonly id = ++Generation.#ids
  readonly config: ProxyConfig
  readonly router: Router
  readonly pools: ReadonlyMap<string, UpstreamPool>
  readonly forwarding: ForwardingOptions
  readonly certs = new Map<string, CertStore>()
  readonly hooks: readonly ProxyHooks[] = []
  readonly pluginHooks = new Map<string, ProxyHooks>()
  readonly onRequest: ProxyHooks[] = []
  readonly onRoute: ProxyHooks[] = []
  readonly selectPool: ProxyHooks[] = []
  readonly onResponse: ProxyHooks[] = []
  readonly onUpstreamError: ProxyHooks[] = []
  readonly onLog: ProxyHooks[] = []
  readonly onConnection: ProxyHooks[] = []
  readonly configureServer: ProxyHooks[] = []
  /** Plain-HTTP listeners may parse simple requests themselves (config on, every plugin fast-path safe). */
  fastClient = false
  inflight = 0
  #retired = false
  #closed: Promise<void> | undefined
  #idle: (() => void) | undefined

  private constructor(config: ProxyConfig, previous: Generation | undefined) {
    this.config = config
    this.router = new Router(config)
    const reuse = new Map<string, UpstreamServer>()
    if (previous !== undefined) for (const p of previous.pools.values()) for (const s of p.servers) reuse.set(`${p.name}/${s.id}`, s)
    const pools = new Map<string, UpstreamPool>()
    for (const [name, pc] of Object.entries(config.pools)) pools.set(name, new UpstreamPool(name, pc, reuse, config.fastPath.upstream))
    this.pools = pools
    let trusted: TrustedProxies
    try {
      trusted = new TrustedProxies(config.headers.trustedProxies)
    } catch (err) {
      throw new ProxyError(ProxyErrorCodes.CONFIG, `Cannot use headers.trustedProxies: ${(err as Error).message}`, { cause: err })
    }
    this.forwarding = { xForwarded: config.headers.xForwarded, forwarded: config.headers.forwarded, via: config.headers.via, trusted }
  }

  static async build(config: ProxyConfig, deps: GenerationDeps): Promise<Generation> {
    const gen = new Generation(config, deps.previous)
    gen.fastClient = config.fastPath.client
    try {
      for (const [i, l] of config.listeners.entries()) {
        if (l.protocol === 'https') gen.certs.set(listenerKey(l, i), await loadCertStore(l))
      }
      const views: UpstreamPoolView[] = [...gen.pools.values()]
      for (const plugin of deps.plugins) {
        const hooks = await plugin.create({
          config,
          logger: deps.logger.child({ plugin: plugin.name }),
          registry: deps.registry,
          admin: deps.admin,
          previous: deps.previous?.pluginHooks.get(plugin.name),
          pool: (name) => gen.pools.get(name),
          pools: views,
        })
        if (hooks === undefined) continue
        // Hooks that never see a request before it is answered cannot depend on node:http objects
        // beyond what the fast path offers; others need the plugin to say it is fast-path safe.
        if (plugin.fastPathSafe !== true && (hooks.onRequest || hooks.onRoute || hooks.selectPool || hooks.onResponse || hooks.onUpstreamError)) gen.fastClient = false
        gen.pluginHooks.set(plugin.name, hooks)
        ;(gen.hooks as ProxyHooks[]).push(hooks)
        if (hooks.onRequest) gen.onRequest.push(hooks)
        if (hooks.onRoute) gen.onRoute.push(hooks)
        if (hooks.selectPool) gen.selectPool.push(hooks)
        if (hooks.onResponse) gen.onResponse.push(hooks)
        if (hooks.onUpstreamError) gen.onUpstreamError.push(hooks)
        if (hooks.onLog) gen.onLog.push(hooks)
        if (hooks.onConnection) gen.onConnection.push(hooks)
        if (hooks.configureServer) gen.configureServer.push(hooks)
      }
    } catch (err) {
      // Do not leak the half-built generation's resources (but never close carried-over servers).
      await gen.#closeOwn(deps.previous)
      throw err
    }
    return gen
  }

  /** Servers of this generation that were not carried over from `previous`. */
  async #closeOwn(previous: Generation | undefined): Promise<void> {
    const old = new Set<UpstreamServer>()
    if (previous !== undefined) for (const p of previous.pools.values()) for (const s of p.servers) old.add(s)
    for (const p of this.pools.values()) for (const s of p.servers) if (!old.has(s)) await s.destroy()
    for (const h of this.hooks) await h.close?.()
  }

  startHealthChecks(logger: Logger): void {
    for (const p of this.pools.values()) p.startHealthChecks(logger)
  }

  enter(): void {
    this.inflight++
  }

  leave(): void {
    this.inflight--
    if (this.inflight === 0 && this.#retired) this.#idle?.()
  }

  /** Stops health checks now; closes orphaned servers and hooks once in-flight requests end. */
  retire(next: Generation | undefined): Promise<void> {
    if (this.#closed !== undefined) return this.#closed
    this.#retired = true
    this.#closed = (async () => {
      for (const p of this.pools.values()) await p.stopHealthChecks()
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve))
      const keep = new Set<UpstreamServer>()
      if (next !== undefined) for (const p of next.pools.values()) for (const s of p.servers) keep.add(s)
      for (const p of this.pools.values()) for (const s of p.servers) if (!keep.has(s)) await s.close()
      for (const h of this.hooks) {
        if (next !== undefined && [...next.pluginHooks.values()].includes(h)) continue
        await h.close?.()
      }
    })()
    return this.#closed
  }
}
