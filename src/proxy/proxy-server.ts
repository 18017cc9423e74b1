// ProxyServer: owns the listeners, the current config generation, metrics, access log and admin
// routes; reload() swaps generations atomically (a bad config is refused, the old one keeps going).
import type { Writable } from 'node:stream'
import type { Socket } from 'node:net'
import { sendJson, startAdminServer, type AdminServer } from '../internal/admin-server.js'
import { silentLogger, type Logger } from '../internal/logger.js'
import { createMetricsRegistry, type Registry } from '../internal/metrics.js'
import { AccessLog, type AccessLogSink } from './access-log.js'
import { AccessLogFile } from './access-log-file.js'
import { DEFAULTS, type ProxyConfig } from './config.js'
import { ProxyError, ProxyErrorCodes } from './errors.js'
import { Generation, listenerKey, listenerName } from './generation.js'
import type { ProxyPlugin } from './plugin-api.js'
import { Listener, type ListenerCallbacks } from './listener.js'
import { builtinPlugins } from './plugins.js'
import { ProxyMetrics } from './proxy-metrics.js'
import { handleRequest, type ListenerInfo } from './request-handler.js'
import type { CoreDeps } from './request-phases.js'
import { handleUpgrade, UpgradeTracker } from './upgrade-handler.js'

export interface ProxyServerOptions {
  config: ProxyConfig
  logger?: Logger
  /** Metrics registry; default: a new one with process metrics. */
  registry?: Registry
  /** Where JSON access-log lines go when `accessLog.enabled`; default: process.stdout. */
  accessLogStream?: Writable
  /** Plugins; default: builtinPlugins (protection, cache, GSLB). */
  plugins?: readonly ProxyPlugin[]
  /** Use this admin server instead of starting one from `config.admin`. */
  admin?: AdminServer
  /** How long close() lets in-flight requests finish. */
  shutdownGraceMs?: number
  /** Called after the admin API drains or enables a server (multi-process setups relay it). */
  onServerDrain?: (pool: string, server: string, drained: boolean) => void
}

export interface BoundListener {
  name: string
  protocol: 'http' | 'https'
  address: string
  port: number
}

export class ProxyServer {
  readonly logger: Logger
  readonly registry: Registry
  readonly metrics: ProxyMetrics
  readonly upgrades = new UpgradeTracker()
  readonly #options: ProxyServerOptions
  readonly #plugins: readonly ProxyPlugin[]
  readonly #listeners = new Map<string, Listener>()
  #gen: Generation | undefined
  #admin: AdminServer | undefined
  #ownAdmin = false
  #accessLog: AccessLog | undefined
  /** The file `accessLog.path` names, while the log writes to it. */
  #accessLogFile: AccessLogFile | undefined
  #reloading: Promise<void> = Promise.resolve()
  readonly #deps: CoreDeps

  constructor(options: ProxyServerOptions) {
    this.#options = options
    this.logger = options.logger ?? silentLogger()
    this.registry = options.registry ?? createMetricsRegistry()
    this.metrics = new ProxyMetrics(this.registry)
    this.metrics.setPools(() => this.#gen?.pools.values() ?? [])
    this.#plugins = options.plugins ?? builtinPlugins
    const self = this
    this.#deps = {
      logger: this.logger,
      metrics: this.metrics,
      get accessLog() {
        return self.#accessLog
      },
      current: () => this.#gen as Generation,
    }
  }

  get generation(): Generation {
    if (this.#gen === undefined) throw new ProxyError(ProxyErrorCodes.CONFIG, 'Cannot use the proxy before start()')
    return this.#gen
  }

  get config(): ProxyConfig {
    return this.generation.config
  }

  get admin(): AdminServer | undefined {
    return this.#admin
  }

  get listeners(): BoundListener[] {
    return [...this.#listeners.values()].map((l) => ({ name: l.name, protocol: l.config.protocol, address: l.config.address, port: l.port }))
  }

  /** Open client connections plus upgraded (WebSocket) connections. */
  get connectionCount(): number {
    let n = 0
    for (const l of this.#listeners.values()) n += l.sockets.size
    return n
  }

  /** Requests served on the HTTP/1.1 fast path since start (the rest went through node:http). */
  get fastPathRequests(): number {
    let n = 0
    for (const l of this.#listeners.values()) n += l.fast?.served ?? 0
    return n
  }

  async start(): Promise<void> {
    const config = this.#options.config
    this.#admin = this.#options.admin
    if (this.#admin === undefined && config.admin !== undefined) {
      const a = config.admin
      this.#admin = await startAdminServer({ host: a.address, port: a.port, registry: this.registry, strict: true, allowedHosts: a.allowedHosts, ...(a.token === undefined ? {} : { token: a.token }) })
      if (a.token === undefined) this.logger.warn({ admin: this.#admin.url }, 'admin API has no token (admin.token): anyone who can reach it locally can drain servers and purge the cache')
      this.#ownAdmin = true
    }
    if (this.#admin !== undefined) this.#registerAdmin(this.#admin)
    const gen = await Generation.build(config, { logger: this.logger, registry: this.registry, admin: this.#admin, plugins: this.#plugins, previous: undefined })
    this.#gen = gen
    try {
      this.#setAccessLog(this.#accessLogSink(config))
      await this.#syncListeners(gen)
    } catch (err) {
      await this.close()
      throw err
    }
    gen.startHealthChecks(this.logger)
    this.logger.info({ listeners: this.listeners }, 'proxy started')
  }

  /** Applies a new config; rejects (ERR_PROXY_RELOAD_FAILED) and keeps the old one on any error. */
  reload(config: ProxyConfig): Promise<void> {
    const run = async (): Promise<void> => {
      const old = this.generation
      let gen: Generation
      try {
        gen = await Generation.build(config, { logger: this.logger, registry: this.registry, admin: this.#admin, plugins: this.#plugins, previous: old })
      } catch (err) {
        throw new ProxyError(ProxyErrorCodes.RELOAD_FAILED, `Cannot reload: ${(err as Error).message}`, { cause: err })
      }
      let sink: Writable | AccessLogSink | undefined
      try {
        // Opened before anything changes: a path that cannot be opened refuses the reload.
        sink = this.#accessLogSink(config)
        await this.#syncListeners(gen)
      } catch (err) {
        if (sink instanceof AccessLogFile && sink !== this.#accessLogFile) sink.close()
        void gen.retire(old)
        throw new ProxyError(ProxyErrorCodes.RELOAD_FAILED, `Cannot reload: ${(err as Error).message}`, { cause: err })
      }
      this.#gen = gen
      this.#setAccessLog(sink)
      gen.startHealthChecks(this.logger)
      void old.retire(gen)
      this.logger.info({ generation: gen.id }, 'proxy config reloaded')
    }
    const p = this.#reloading.then(run, run)
    this.#reloading = p.catch(() => {})
    return p
  }

  /**
   * Where `config`'s access log goes: the stream the embedder gave, stdout, stderr, or the file at
   * `accessLog.path`, opened anew on every start and reload, so a reload (SIGHUP) after a log
   * rotation writes to the new file (logrotate's `postrotate kill -HUP`). Throws ACCESS_LOG when
   * the file cannot be opened; undefined when the log is off.
   */
  #accessLogSink(config: ProxyConfig): Writable | AccessLogSink | undefined {
    if (!config.accessLog.enabled) return undefined
    const given = this.#options.accessLogStream
    if (given !== undefined) return given
    const path = config.accessLog.path
    if (path === 'stdout') return process.stdout
    if (path === 'stderr') return process.stderr
    try {
      return new AccessLogFile(path, (err, lostBytes) => {
        this.logger.error({ err, path, lostBytes, code: ProxyErrorCodes.ACCESS_LOG }, 'access log write failed: these lines are lost, requests are still served')
      })
    } catch (err) {
      throw new ProxyError(ProxyErrorCodes.ACCESS_LOG, `Cannot open the access log ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err })
    }
  }

  #setAccessLog(sink: Writable | AccessLogSink | undefined): void {
    this.#accessLog?.flush()
    this.#accessLog = sink === undefined ? undefined : new AccessLog(sink)
    if (this.#accessLogFile !== undefined && this.#accessLogFile !== sink) this.#accessLogFile.close()
    this.#accessLogFile = sink instanceof AccessLogFile ? sink : undefined
  }

  #callbacks(): ListenerCallbacks {
    return {
      request: (l, req, res) => handleRequest(this.#deps, l, req, res),
      upgrade: (l, req, socket, head) => handleUpgrade(this.#deps, l, this.upgrades, req, socket, head),
      connection: (l: ListenerInfo, socket: Socket) => {
        const gen = this.#gen
        if (gen === undefined || gen.onConnection.length === 0) return this.#countConnection(l, socket)
        const info = { socket, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, listener: l.name, listenerConfig: l.config, tls: l.tls }
        for (const h of gen.onConnection) {
          try {
            if (h.onConnection?.(info) === false) return false
          } catch (err) {
            this.logger.error({ err, code: ProxyErrorCodes.HOOK_FAILED }, 'onConnection hook failed')
            return false
          }
        }
        return this.#countConnection(l, socket)
      },
      fastEligible: () => this.#gen?.fastClient === true,
      configure: (server, config) => {
        for (const h of this.#gen?.configureServer ?? []) h.configureServer?.(server, config)
      },
    }
  }

  #countConnection(l: ListenerInfo, socket: Socket): true {
    const gauge = this.metrics.connections
    gauge.inc({ listener: l.name })
    socket.once('close', () => gauge.dec({ listener: l.name }))
    return true
  }

  /** Opens new listeners, updates kept ones (timeouts, certificates), closes removed ones. */
  async #syncListeners(gen: Generation): Promise<void> {
    const wanted = new Map(gen.config.listeners.map((l, i) => [listenerKey(l, i), l] as const))
    const opened: Listener[] = []
    const prevGen = this.#gen
    try {
      for (const [key, config] of wanted) {
        const existing = this.#listeners.get(key)
        const certs = gen.certs.get(key)
        if (existing !== undefined) {
          // Same protocol/address/port: keep the socket; http2 on/off needs a restart (documented).
          existing.applyTimeouts(config)
          existing.certs = certs
          if (certs !== undefined && 'setSecureContext' in existing.server) {
            existing.server.setSecureContext({ key: certs.defaultPair.key, cert: certs.defaultPair.cert, minVersion: config.tls.minVersion })
          }
          continue
        }
        // configureServer hooks of the new generation must see the server, so expose it first.
        this.#gen = gen
        const l = new Listener(key, listenerName(config), config, certs, this.#callbacks(), this.logger)
        this.#gen = prevGen
        await l.listen()
        opened.push(l)
      }
    } catch (err) {
      this.#gen = prevGen
      for (const l of opened) await l.close(0)
      throw err
    }
    for (const [key, l] of this.#listeners) {
      if (!wanted.has(key) || opened.some((o) => o.key === key)) {
        this.#listeners.delete(key)
        void l.close(this.#options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs)
      }
    }
    for (const l of opened) this.#listeners.set(l.key, l)
  }

  #registerAdmin(admin: AdminServer): void {
    admin.json('/proxy/pools', () => [...(this.#gen?.pools.values() ?? [])].map((p) => p.view()))
    admin.json('/proxy/status', () => ({
      generation: this.#gen?.id,
      inflight: this.#gen?.inflight,
      listeners: this.listeners,
      connections: this.connectionCount,
      upgrades: this.upgrades.size,
      fastPathRequests: this.fastPathRequests,
    }))
    // POST /proxy/pools/<pool>/servers/<id>/(drain|enable)
    admin.route('POST', '/proxy/pools/*', (_req, res, url) => {
      const m = /^\/proxy\/pools\/([^/]+)\/servers\/([^/]+)\/(drain|enable)$/.exec(url.pathname)
      if (m === null) return sendJson(res, 404, { error: 'expected POST /proxy/pools/<pool>/servers/<id>/(drain|enable)' })
      const pool = this.#gen?.pools.get(decodeURIComponent(m[1] ?? ''))
      const server = pool?.byId.get(decodeURIComponent(m[2] ?? ''))
      if (pool === undefined || server === undefined) {
        return sendJson(res, 404, { error: `no server ${JSON.stringify(m[2])} in pool ${JSON.stringify(m[1])}`, code: ProxyErrorCodes.ADMIN_UNKNOWN_SERVER })
      }
      this.setDrained(pool.name, server.id, m[3] === 'drain')
      this.#options.onServerDrain?.(pool.name, server.id, m[3] === 'drain')
      sendJson(res, 200, server.view())
    })
  }

  /** Drains (no new requests) or re-enables one server; false when it does not exist. */
  setDrained(pool: string, server: string, drained: boolean): boolean {
    const s = this.#gen?.pools.get(pool)?.byId.get(server)
    if (s === undefined) return false
    s.drained = drained
    this.logger.info({ pool, server, drained }, 'server drain state changed')
    return true
  }

  /** Stops listening, lets in-flight requests finish (up to the grace period), closes pools. */
  async close(): Promise<void> {
    const grace = this.#options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs
    await Promise.all([...this.#listeners.values()].map((l) => l.close(grace)))
    this.#listeners.clear()
    this.upgrades.destroyAll()
    await this.#gen?.retire(undefined)
    this.#accessLog?.flush()
    this.#accessLogFile?.close()
    this.#accessLogFile = undefined
    if (this.#ownAdmin) await this.#admin?.close()
  }
}
