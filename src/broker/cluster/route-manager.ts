// The cluster: a route listener, solicited routes with re-dial and backoff, gossip of new peers
// (implicit routes), one route per peer (duplicate resolution), PINGs, and the bridge between the
// broker's subscriptions and messages and the routes. Created by the broker only when a `cluster`
// option is given.
import { timingSafeEqual } from 'node:crypto'
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type SecureContext, type TLSSocket } from 'node:tls'
import { isIP } from 'node:net'
import { packageVersion } from '../../internal/version.js'
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import type { Broker } from '../server.js'
import { RouteCloseCodes, type RouteCloseCode } from './close-codes.js'
import { Interest, type LocalMember } from './interest.js'
import { clientUrls, parseRouteUrl, type ResolvedClusterOptions } from './options.js'
import { Route, type RouteHost } from './route.js'

/** An implicit (gossiped) route is given up after this many failed dials in a row. */
const IMPLICIT_MAX_FAILURES = 5

interface Dialer {
  url: string
  explicit: boolean
  host: string
  port: number
  user: string
  pass: string
  remoteId: string
  active: boolean
  timer: NodeJS.Timeout | undefined
  delayMs: number
  failures: number
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export class RouteManager implements RouteHost {
  readonly options: ResolvedClusterOptions
  readonly interest = new Interest()
  /** Registered routes by remote server id: one per peer. */
  readonly routes = new Map<string, Route>()
  readonly maxControlLineBytes: number
  readonly maxPayloadBytes: number
  readonly maxPendingBytes: number
  readonly #broker: Broker
  readonly #all = new Set<Route>()
  readonly #dialers = new Map<string, Dialer>()
  readonly #dialerOf = new Map<Route, Dialer>()
  readonly #authTimers = new Map<Route, NodeJS.Timeout>()
  #server: Server | undefined
  #port = 0
  #nextRid = 1
  #pingTimer: NodeJS.Timeout | undefined
  #closed = false
  #ownUrls: string[] = []
  readonly #secureContext: SecureContext | undefined

  constructor(broker: Broker, options: ResolvedClusterOptions) {
    this.#broker = broker
    this.options = options
    this.maxControlLineBytes = broker.maxControlLineBytes
    this.maxPayloadBytes = broker.maxPayloadBytes
    this.maxPendingBytes = broker.maxPendingBytes
    const t = options.tls
    this.#secureContext = t === undefined ? undefined : createSecureContext({ cert: t.cert, key: t.key, ...(t.ca === undefined ? {} : { ca: t.ca }) })
  }

  get port(): number {
    return this.#port
  }

  get host(): string {
    return this.options.host ?? this.#broker.options.host
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async listen(): Promise<void> {
    const t = this.options.tls
    // With TLS the handshake comes first (nats-server's routes do the same), then INFO/CONNECT.
    const server =
      t === undefined
        ? createServer({ noDelay: true }, (socket) => this.#accept(socket))
        : createTlsServer(
            // tls.Server builds its own context from these (it ignores a `secureContext` option).
            { cert: t.cert, key: t.key, ...(t.ca === undefined ? {} : { ca: t.ca }), requestCert: t.verify, rejectUnauthorized: t.verify, handshakeTimeout: t.timeoutMs, noDelay: true },
            (socket) => this.#accept(socket),
          )
    if (t !== undefined) {
      server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        this.#broker.logger.warn({ code: RouteCloseCodes.TLS, addr: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message, tlsCode: err.code }, 'route TLS handshake failed')
        // With a listener here node leaves the socket open (a silent peer would hold it forever).
        socket.destroy()
      })
    }
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new BrokerError(BrokerErrorCodes.LISTEN, `Cannot listen for routes on ${this.host}:${this.options.port}: ${err.message}`, { cause: err })))
      server.listen(this.options.port, this.host, () => resolve())
    })
    server.on('error', (err) => this.#broker.logger.error({ err }, 'route listener error'))
    this.#port = (server.address() as AddressInfo).port
    this.#ownUrls = clientUrls(this.#broker.options.host, this.#broker.port)
    this.#publishConnectUrls()
    const o = this.#broker.options
    this.#pingTimer = setInterval(() => this.#pingAll(o.maxPingsOut), o.pingIntervalMs)
    this.#pingTimer.unref()
    for (const url of this.options.routes) this.#dial(this.#dialerFor(url, true))
    this.#broker.logger.info({ port: this.#port, cluster: this.options.name, routes: this.options.routes }, 'cluster listening')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#pingTimer)
    for (const d of this.#dialers.values()) clearTimeout(d.timer)
    for (const t of this.#authTimers.values()) clearTimeout(t)
    for (const r of [...this.#all]) r.destroy()
    const s = this.#server
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  // ---- the broker's side ----------------------------------------------------------------------

  subAdded(subject: string, queue: string | undefined): void {
    const line = this.interest.localAdded(subject, queue)
    if (line !== undefined) this.#broadcast(line)
  }

  subRemoved(subject: string, queue: string | undefined): void {
    const line = this.interest.localRemoved(subject, queue)
    if (line !== undefined) this.#broadcast(line)
  }

  /** See Interest.forward; cheap when no peer has any interest. */
  forward(subject: string, reply: string, hdrLen: number, payload: Buffer, localGroups: readonly (readonly LocalMember[])[], noEcho: unknown, only?: readonly string[]): boolean {
    if (this.interest.remoteCount === 0) return false
    return this.interest.forward(subject, reply, hdrLen, payload, localGroups, noEcho, only)
  }

  /** A PING/PONG round trip on every route: what peers announced before now has arrived here. */
  async sync(): Promise<void> {
    await Promise.all([...this.routes.values()].map((r) => r.sync()))
  }

  #broadcast(line: string): void {
    if (this.routes.size === 0) return
    const bytes = Buffer.from(line)
    for (const r of this.routes.values()) r.send(bytes)
  }

  // ---- connections ----------------------------------------------------------------------------

  #info(extra: Record<string, unknown> = {}): string {
    const o = this.#broker.options
    const info: Record<string, unknown> = {
      server_id: this.#broker.serverId,
      server_name: o.serverName === '' ? this.#broker.serverId : o.serverName,
      version: o.protocolVersion,
      go: `switchyard ${packageVersion()} (node ${process.version})`,
      host: this.host,
      port: this.#port,
      headers: true,
      max_payload: o.maxPayloadBytes,
      cluster: this.options.name,
      connect_urls: this.#ownUrls,
      ...extra,
    }
    if (this.options.authorization !== undefined) info.auth_required = true
    if (this.options.tls !== undefined) {
      info.tls_required = true
      info.tls_verify = this.options.tls.verify
    }
    return `INFO ${JSON.stringify(info)}\r\n`
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    const route = new Route(this, this.#nextRid++, socket, false, '')
    this.#all.add(route)
    route.sendText(this.#info())
    const timer = setTimeout(() => {
      if (!route.connectReceived) route.closeWith(RouteCloseCodes.AUTH_TIMEOUT, 'no CONNECT in time', 'Authentication Timeout')
    }, this.#broker.options.authTimeoutMs)
    timer.unref()
    this.#authTimers.set(route, timer)
  }

  #dialerFor(url: string, explicit: boolean): Dialer {
    const existing = this.#dialers.get(url)
    if (existing !== undefined) return existing
    const u = parseRouteUrl(url)
    const d: Dialer = { url, explicit, ...u, remoteId: '', active: false, timer: undefined, delayMs: this.options.retryDelayMs, failures: 0 }
    this.#dialers.set(url, d)
    return d
  }

  #dial(d: Dialer): void {
    if (this.#closed || d.active) return
    d.active = true
    const t = this.options.tls
    const socket =
      t === undefined
        ? netConnect({ host: d.host, port: d.port })
        : tlsConnect({
            host: d.host,
            port: d.port,
            secureContext: this.#secureContext as SecureContext,
            rejectUnauthorized: t.verify,
            // Go's route dialler checks the URL's host against the peer's certificate; so does this.
            ...(isIP(d.host) === 0 ? { servername: d.host } : {}),
          })
    let handshakeTimer: NodeJS.Timeout | undefined
    if (t !== undefined) {
      handshakeTimer = setTimeout(() => socket.destroy(new BrokerError(BrokerErrorCodes.OPTIONS, `TLS handshake with ${d.host}:${d.port} took over ${t.timeoutMs} ms`)), t.timeoutMs)
      handshakeTimer.unref()
    }
    const failed = (err: Error & { code?: string }): void => {
      clearTimeout(handshakeTimer)
      const tlsFailure = t !== undefined && socket.connecting === false
      const fields = { url: d.url.replace(/\/\/[^@/]*@/, '//'), err: err.message, failures: d.failures + 1, ...(tlsFailure ? { code: RouteCloseCodes.TLS, tlsCode: err.code } : {}) }
      if (tlsFailure) this.#broker.logger.warn(fields, 'route TLS handshake failed')
      else this.#broker.logger.debug(fields, 'route dial failed')
      d.active = false
      d.failures++
      this.#retry(d)
    }
    socket.once('error', failed)
    socket.once(t === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(handshakeTimer)
      socket.off('error', failed)
      if (this.#closed) {
        socket.destroy()
        return
      }
      const route = new Route(this, this.#nextRid++, socket, true, d.url)
      this.#all.add(route)
      this.#dialerOf.set(route, d)
      const a = this.options.authorization
      const creds: Record<string, string> = {}
      if (d.user !== '') {
        creds.user = d.user
        creds.pass = d.pass
      } else if (a !== undefined && 'user' in a) {
        creds.user = a.user
        creds.pass = a.password
      } else if (a !== undefined) creds.auth_token = a.token
      const connect = { echo: false, verbose: false, pedantic: false, ...creds, tls_required: t !== undefined, headers: true, name: this.#broker.serverId, cluster: this.options.name }
      route.sendText(`CONNECT ${JSON.stringify(connect)}\r\n${this.#info()}PING\r\n`)
    })
  }

  /** Re-dials after a backoff with jitter, unless the peer is connected another way or the dialer is given up. */
  #retry(d: Dialer): void {
    if (this.#closed || d.timer !== undefined || d.active) return
    if (!d.explicit && d.failures >= IMPLICIT_MAX_FAILURES) {
      this.#dialers.delete(d.url)
      return
    }
    const delay = Math.round(d.delayMs * (0.5 + Math.random() / 2))
    d.delayMs = Math.min(d.delayMs * 2, this.options.maxRetryDelayMs)
    d.timer = setTimeout(() => {
      d.timer = undefined
      if (d.remoteId !== '' && this.routes.has(d.remoteId)) return
      this.#dial(d)
    }, delay)
    d.timer.unref()
  }

  // ---- RouteHost ------------------------------------------------------------------------------

  checkConnect(route: Route, c: Record<string, unknown>): { code: RouteCloseCode; reason: string; errText: string } | undefined {
    clearTimeout(this.#authTimers.get(route))
    this.#authTimers.delete(route)
    if (typeof c.cluster === 'string' && c.cluster !== this.options.name) {
      return { code: RouteCloseCodes.CLUSTER_NAME, reason: `peer is in cluster ${JSON.stringify(c.cluster.slice(0, 64))}, not ${JSON.stringify(this.options.name)}`, errText: 'Cluster Name Conflict' }
    }
    const a = this.options.authorization
    if (a !== undefined) {
      const ok = 'token' in a ? typeof c.auth_token === 'string' && sameSecret(c.auth_token, a.token) : c.user === a.user && typeof c.pass === 'string' && sameSecret(c.pass, a.password)
      if (!ok) return { code: RouteCloseCodes.AUTH, reason: 'route credentials rejected', errText: 'Authorization Violation' }
    }
    return undefined
  }

  routeInfo(route: Route, info: Record<string, unknown>): void {
    const id = info.server_id as string
    if (route.registered) {
      if (id !== route.remoteId) this.#implicit(info)
      else if (Array.isArray(info.connect_urls)) {
        route.info = { ...route.info, connect_urls: info.connect_urls }
        this.#publishConnectUrls()
      }
      return
    }
    if (id === this.#broker.serverId) {
      const d = this.#dialerOf.get(route)
      // A route to ourselves (our own URL in `routes`): stop dialling it.
      if (d !== undefined) d.remoteId = id
      route.closeWith(RouteCloseCodes.SELF, 'route to self')
      return
    }
    if (info.tls_required === true && this.options.tls === undefined) {
      route.closeWith(RouteCloseCodes.TLS, 'peer requires TLS on routes; set cluster.tls on this node', 'Secure Connection - TLS Required')
      return
    }
    if (typeof info.cluster === 'string' && info.cluster !== this.options.name) {
      route.closeWith(RouteCloseCodes.CLUSTER_NAME, `peer is in cluster ${JSON.stringify(info.cluster.slice(0, 64))}, not ${JSON.stringify(this.options.name)}`, 'Cluster Name Conflict')
      return
    }
    route.remoteId = id
    route.remoteName = typeof info.server_name === 'string' ? info.server_name : id
    route.info = info
    const d = this.#dialerOf.get(route)
    if (d !== undefined) d.remoteId = id
    const existing = this.routes.get(id)
    if (existing !== undefined) {
      const keep = this.#preferred(existing, route)
      const lose = keep === existing ? route : existing
      lose.closeWith(RouteCloseCodes.DUPLICATE, `duplicate route to ${id}`)
      if (keep === existing) return
    }
    this.#register(route, info)
  }

  /**
   * Two connections to one peer (both sides dialled): between Switchyard nodes both keep the one
   * dialled by the lower server id, so exactly one survives; with other servers the first one
   * registered stays, as nats-server does (a double drop is healed by the re-dial).
   */
  #preferred(existing: Route, fresh: Route): Route {
    const go = fresh.info?.go
    if (typeof go !== 'string' || !go.startsWith('switchyard') || existing.solicited === fresh.solicited) return existing
    const weDialWinner = this.#broker.serverId < fresh.remoteId
    return existing.solicited === weDialWinner ? existing : fresh
  }

  #register(route: Route, info: Record<string, unknown>): void {
    route.registered = true
    this.routes.set(route.remoteId, route)
    const d = this.#dialerOf.get(route)
    if (d !== undefined) {
      d.failures = 0
      d.delayMs = this.options.retryDelayMs
    }
    const subs = this.interest.snapshot()
    if (subs !== '') route.sendText(subs)
    // Gossip: every other peer learns where this one listens and dials it (implicit route).
    const port = typeof info.port === 'number' ? info.port : 0
    const ip = typeof info.ip === 'string' && info.ip !== '' ? info.ip : `nats-route://${route.remoteAddress.includes(':') ? `[${route.remoteAddress}]` : route.remoteAddress}:${port}/`
    const gossip = Buffer.from(`INFO ${JSON.stringify({ ...info, ip })}\r\n`)
    for (const other of this.routes.values()) if (other !== route) other.send(gossip)
    this.#publishConnectUrls()
    this.#broker.logger.info({ rid: route.rid, remote: route.remoteId, name: route.remoteName, solicited: route.solicited, addr: `${route.remoteAddress}:${route.remotePort}` }, 'route registered')
  }

  #implicit(info: Record<string, unknown>): void {
    const id = info.server_id as string
    if (this.#closed || id === this.#broker.serverId || this.routes.has(id) || typeof info.ip !== 'string') return
    for (const d of this.#dialers.values()) if (d.remoteId === id && (d.active || d.timer !== undefined)) return
    let url: string
    try {
      url = info.ip
      parseRouteUrl(url)
    } catch {
      return
    }
    const d = this.#dialerFor(url, false)
    d.remoteId = id
    this.#dial(d)
  }

  remoteSub(route: Route, subject: string, queue: string | undefined, weight: number): void {
    this.interest.remoteAdded(route, subject, queue, weight)
    this.#broker.leafs?.routeSub(route, subject, queue, weight)
  }

  remoteUnsub(route: Route, subject: string, queue: string | undefined): void {
    this.interest.remoteRemoved(route, subject, queue)
    this.#broker.leafs?.routeUnsub(route, subject, queue)
  }

  remoteMsg(_route: Route, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    this.#broker.deliverFromRoute(subject, reply, hdrLen, payload, queues)
  }

  routeClosed(route: Route, code: RouteCloseCode, reason: string): void {
    this.#all.delete(route)
    clearTimeout(this.#authTimers.get(route))
    this.#authTimers.delete(route)
    const lostPeer = route.registered && this.routes.get(route.remoteId) === route
    if (lostPeer) {
      this.routes.delete(route.remoteId)
      this.#publishConnectUrls()
    }
    this.interest.dropRoute(route)
    this.#broker.leafs?.routeGone(route)
    const quiet = this.#closed || code === RouteCloseCodes.DUPLICATE || code === RouteCloseCodes.SELF
    const fields = { code, rid: route.rid, remote: route.remoteId, addr: `${route.remoteAddress}:${route.remotePort}`, reason }
    if (quiet) this.#broker.logger.info(fields, 'route closed')
    else this.#broker.logger.warn(fields, 'route closed')
    const d = this.#dialerOf.get(route)
    this.#dialerOf.delete(route)
    if (this.#closed) return
    if (d !== undefined) {
      d.active = false
      if (code !== RouteCloseCodes.DUPLICATE && code !== RouteCloseCodes.SELF) this.#retry(d)
    }
    // The peer is gone: every dialer that knew it (a duplicate closed earlier) tries again.
    if (lostPeer) for (const other of this.#dialers.values()) if (other.remoteId === route.remoteId && !other.active) this.#retry(other)
  }

  #pingAll(max: number): void {
    for (const r of this.#all) {
      if (r.closed) continue
      if (r.pingsOut + 1 > max) r.closeWith(RouteCloseCodes.STALE, 'no PONG to PINGs', 'Stale Connection')
      else r.sendPing()
    }
  }

  /** Client URLs of this node and every peer: INFO `connect_urls` for clients. */
  #publishConnectUrls(): void {
    const urls = new Set(this.#ownUrls)
    for (const r of this.routes.values()) {
      const list = r.info?.connect_urls
      if (Array.isArray(list)) for (const u of list) if (typeof u === 'string' && u.length < 300) urls.add(u)
    }
    this.#broker.setConnectUrls([...urls])
  }
}
