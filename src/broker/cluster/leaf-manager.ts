// Leafnodes: a listener for spokes (this node is their hub) and dials to hubs with re-dial and
// backoff (this node is their spoke); handshakes, authorization, loop detection, PINGs, and the
// bridge between the broker (clients, routes) and the links. Who hears of what interest is in
// leaf-interest.ts; messages follow nats-server's processMsgResults:
//   - from a link: to local subscribers, the other links, and the routes unless this node is the
//     spoke on that link;
//   - from a route: to local subscribers and the links on which this node is the hub;
//   - never back on the connection a message came from.
// Created by the broker only when a `leafnodes` option is given.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { packageVersion } from '../../internal/version.js'
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import type { Broker } from '../server.js'
import { isValidLiteralSubject, isValidSubject } from '../subject.js'
import { isNodeLocal, type LocalMember } from './interest.js'
import { LeafInterest, type LeafForward } from './leaf-interest.js'
import { LeafCloseCodes, type LeafCloseCode } from './leaf-close-codes.js'
import { parseLeafUrl, type ResolvedLeafnodeOptions } from './leaf-options.js'
import { Leaf, type LeafHost } from './leaf.js'
import { clientUrls } from './options.js'

interface Dialer {
  urls: string[]
  next: number
  active: boolean
  timer: NodeJS.Timeout | undefined
  delayMs: number
  failures: number
  creds: { user: string; pass: string }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}

const NONE: LeafForward = { sent: false, served: [] }

export type { LeafForward }

export class LeafManager implements LeafHost {
  readonly options: ResolvedLeafnodeOptions
  readonly interest: LeafInterest
  readonly maxControlLineBytes: number
  readonly maxPayloadBytes: number
  readonly maxPendingBytes: number
  readonly #broker: Broker
  readonly #all = new Set<Leaf>()
  readonly #dialers: Dialer[] = []
  readonly #dialerOf = new Map<Leaf, Dialer>()
  readonly #authTimers = new Map<Leaf, NodeJS.Timeout>()
  #server: Server | undefined
  #port = 0
  #nextLid = 1
  #pingTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(broker: Broker, options: ResolvedLeafnodeOptions) {
    this.#broker = broker
    this.options = options
    this.maxControlLineBytes = broker.maxControlLineBytes
    this.maxPayloadBytes = broker.maxPayloadBytes
    this.maxPendingBytes = broker.maxPendingBytes
    this.interest = new LeafInterest(`$LDS.${randomBytes(12).toString('hex')}`)
  }

  /** Registered leaf links (both directions). */
  get leafs(): ReadonlySet<Leaf> {
    return this.interest.leafs
  }

  /** Subject this node announces on every link to find loops (nats-server's `$LDS.`). */
  get loopSubject(): string {
    return this.interest.loopSubject
  }

  /** The leafnode listener's port; 0 without a listener. */
  get port(): number {
    return this.#port
  }

  get host(): string {
    return this.options.host ?? this.#broker.options.host
  }

  /** How many links announced interest matching a literal subject (tests). */
  leafsInterested(subject: string): number {
    return this.interest.leafsInterested(subject)
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async listen(): Promise<void> {
    if (this.options.port !== undefined) {
      const server = createServer({ noDelay: true }, (socket) => this.#accept(socket))
      this.#server = server
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new BrokerError(BrokerErrorCodes.LISTEN, `Cannot listen for leafnodes on ${this.host}:${this.options.port}: ${err.message}`, { cause: err })))
        server.listen(this.options.port, this.host, () => resolve())
      })
      server.on('error', (err) => this.#broker.logger.error({ err }, 'leafnode listener error'))
      this.#port = (server.address() as AddressInfo).port
    }
    const o = this.#broker.options
    this.#pingTimer = setInterval(() => this.#pingAll(o.maxPingsOut), o.pingIntervalMs)
    this.#pingTimer.unref()
    for (const r of this.options.remotes) {
      const d: Dialer = { urls: r.urls, next: 0, active: false, timer: undefined, delayMs: this.options.retryDelayMs, failures: 0, creds: { user: '', pass: '' } }
      this.#dialers.push(d)
      this.#dial(d)
    }
    this.#broker.logger.info({ port: this.#port, remotes: this.options.remotes.map((r) => r.urls.map(redact)) }, 'leafnodes started')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#pingTimer)
    for (const d of this.#dialers) clearTimeout(d.timer)
    for (const t of this.#authTimers.values()) clearTimeout(t)
    for (const l of [...this.#all]) l.destroy()
    const s = this.#server
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  // ---- the broker's side: interest --------------------------------------------------------

  /** A subscription of this node's own (client or in-process). */
  subAdded(subject: string, queue: string | undefined): void {
    this.interest.localAdded(subject, queue)
  }

  subRemoved(subject: string, queue: string | undefined): void {
    this.interest.localRemoved(subject, queue)
  }

  /** Interest a route announced (RS+; a repeated one updates a queue's weight). */
  routeSub(route: object, subject: string, queue: string | undefined, weight: number): void {
    this.interest.routeAdded(route, subject, queue, weight)
  }

  routeUnsub(route: object, subject: string, queue: string | undefined): void {
    this.interest.routeRemoved(route, subject, queue)
  }

  /** A route closed: everything it announced is gone. */
  routeGone(route: object): void {
    this.interest.dropRoute(route)
  }

  // ---- LeafHost: interest and messages from a leaf ---------------------------------------------

  leafSub(leaf: Leaf, subject: string, queue: string | undefined, weight: number): void {
    if (!isValidSubject(subject) || (queue !== undefined && !/^[^\s]+$/.test(queue))) {
      leaf.closeWith(LeafCloseCodes.PROTOCOL, `LS+ for invalid subject ${JSON.stringify(subject.slice(0, 64))}`, 'Invalid Subject')
      return
    }
    if (subject === this.loopSubject) {
      leaf.closeWith(LeafCloseCodes.LOOP, 'our loop-detection subject came back: this leaf connection closes a loop', `Loop detected for leafnode account="$G". Delaying attempt to reconnect for 30s`)
      return
    }
    // JetStream stays per node, as on routes (nats-server denies $JS.API across leafs by default).
    if (isNodeLocal(subject)) return
    // A hub link's interest is this cluster's too: the routes hear of it (once per link and key).
    if (this.interest.leafAdded(leaf, subject, queue, weight) && !leaf.spoke) this.#broker.cluster?.subAdded(subject, queue)
  }

  leafUnsub(leaf: Leaf, subject: string, queue: string | undefined): void {
    const gone = this.interest.leafRemoved(leaf, subject, queue)
    if (gone !== undefined && !leaf.spoke) this.#broker.cluster?.subRemoved(gone.subject, gone.queue)
  }

  /**
   * A message from a leaf: local subscribers (and the named queue groups with a local member),
   * the other leafs, and the routes unless this node is the spoke on that link. A subject nobody
   * here wants is dropped, as the route code drops RMSG without interest.
   */
  leafMsg(leaf: Leaf, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    if (!isValidLiteralSubject(subject) || (reply !== '' && !isValidLiteralSubject(reply))) {
      leaf.closeWith(LeafCloseCodes.PROTOCOL, `LMSG for invalid subject ${JSON.stringify(subject.slice(0, 64))}`, 'Invalid Subject')
      return
    }
    // Never announced on a link ($JS.*, $SYS.* stay per node), so a peer that sends one is not
    // served: a leaf cannot reach this node's JetStream API from the other side.
    if (isNodeLocal(subject)) return
    const broker = this.#broker
    broker.deliverFromPeer(subject, reply, hdrLen, payload, queues)
    const remaining = this.#unservedLocally(subject, queues)
    const fwd = this.interest.forward(leaf, subject, reply, hdrLen, payload, undefined, remaining)
    const cluster = broker.cluster
    if (cluster === undefined || leaf.spoke) return
    const only = fwd.served.length === 0 ? remaining : remaining.filter((q) => !fwd.served.some((g) => g[0]?.queue === q))
    cluster.forward(subject, reply, hdrLen, payload, [], undefined, only)
  }

  /** Named queue groups without a live local member (they may be served further on). */
  #unservedLocally(subject: string, queues: readonly string[] | undefined): string[] {
    if (queues === undefined || queues.length === 0) return []
    const groups = this.#broker.sublist.match(subject).qsubs
    return queues.filter((q) => !groups.some((g) => g[0]?.queue === q && g.some((s) => !s.closed)))
  }

  // ---- the broker's side: messages to leafs ---------------------------------------------------

  /**
   * A message from this node's client or in-process publisher: once to each leaf that wants it,
   * naming the queue groups it should serve (those without a live local member). Cheap when no
   * leaf has announced anything.
   */
  forward(subject: string, reply: string, hdrLen: number, payload: Buffer, localGroups: readonly (readonly LocalMember[])[], noEcho: unknown): LeafForward {
    if (this.interest.remoteCount === 0) return NONE
    let served: string[] | undefined
    for (const g of localGroups) {
      for (const m of g) {
        if (!m.closed && (noEcho === undefined || m.client !== noEcho)) {
          ;(served ??= []).push(m.queue as string)
          break
        }
      }
    }
    return this.interest.forward('local', subject, reply, hdrLen, payload, served, undefined)
  }

  /** A message from a route, after local delivery: to the leafs this node is the hub for. */
  fromRoute(subject: string, reply: string, hdrLen: number, payload: Buffer, queues: string[] | undefined): void {
    if (this.interest.remoteCount === 0) return
    this.interest.forward('route', subject, reply, hdrLen, payload, undefined, this.#unservedLocally(subject, queues))
  }

  // ---- connections ----------------------------------------------------------------------------

  #info(leaf: Leaf): string {
    const o = this.#broker.options
    const h = this.host
    const urls = this.#port === 0 ? [] : clientUrls(h, this.#port)
    const info: Record<string, unknown> = {
      server_id: this.#broker.serverId,
      server_name: o.serverName === '' ? this.#broker.serverId : o.serverName,
      version: o.protocolVersion,
      go: `switchyard ${packageVersion()} (node ${process.version})`,
      host: h,
      port: this.#port,
      headers: true,
      // nats-server always asks leafnodes to authenticate; CONNECT binds the connection.
      auth_required: true,
      max_payload: o.maxPayloadBytes,
      proto: 1,
      client_id: leaf.lid,
      // A soliciting nats-server checks for this list to know it reached a leafnode port.
      leafnode_urls: urls,
    }
    const cluster = this.#broker.cluster?.options.name
    if (cluster !== undefined) info.cluster = cluster
    return `INFO ${JSON.stringify(info)}\r\n`
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    const leaf = new Leaf(this, this.#nextLid++, socket, false, '')
    this.#all.add(leaf)
    leaf.sendText(this.#info(leaf))
    const timer = setTimeout(() => {
      if (!leaf.registered) leaf.closeWith(LeafCloseCodes.AUTH_TIMEOUT, 'no CONNECT in time', 'Authentication Timeout')
    }, this.#broker.options.authTimeoutMs)
    timer.unref()
    this.#authTimers.set(leaf, timer)
  }

  #dial(d: Dialer): void {
    if (this.#closed || d.active) return
    d.active = true
    const url = d.urls[d.next % d.urls.length] as string
    d.next++
    const u = parseLeafUrl(url)
    d.creds = { user: u.user, pass: u.pass }
    const socket = netConnect({ host: u.host, port: u.port })
    const failed = (err: Error): void => {
      d.failures++
      const fields = { url: redact(url), err: err.message, failures: d.failures }
      // The first failure and then every tenth are worth a warning; the rest are noise while a hub restarts.
      if (d.failures === 1 || d.failures % 10 === 0) this.#broker.logger.warn(fields, 'leafnode dial failed')
      else this.#broker.logger.debug(fields, 'leafnode dial failed')
      d.active = false
      this.#retry(d)
    }
    socket.once('error', failed)
    socket.once('connect', () => {
      socket.off('error', failed)
      if (this.#closed) {
        socket.destroy()
        return
      }
      const leaf = new Leaf(this, this.#nextLid++, socket, true, redact(url))
      this.#all.add(leaf)
      this.#dialerOf.set(leaf, d)
      // The hub speaks first; without its INFO in time this is not a leafnode port.
      const timer = setTimeout(() => {
        if (!leaf.registered) leaf.closeWith(LeafCloseCodes.WRONG_PORT, 'no leafnode INFO from the hub in time')
      }, this.#broker.options.authTimeoutMs)
      timer.unref()
      this.#authTimers.set(leaf, timer)
    })
  }

  #retry(d: Dialer): void {
    if (this.#closed || d.timer !== undefined || d.active) return
    const delay = Math.round(d.delayMs * (0.5 + Math.random() / 2))
    d.delayMs = Math.min(d.delayMs * 2, this.options.maxRetryDelayMs)
    d.timer = setTimeout(() => {
      d.timer = undefined
      this.#dial(d)
    }, delay)
    d.timer.unref()
  }

  checkConnect(leaf: Leaf, c: Record<string, unknown>): { code: LeafCloseCode; reason: string; errText: string } | undefined {
    clearTimeout(this.#authTimers.get(leaf))
    this.#authTimers.delete(leaf)
    // Clients send `lang`; leafnodes never do (nats-server's check for clients on the wrong port).
    if (typeof c.lang === 'string' && c.lang !== '') return { code: LeafCloseCodes.WRONG_PORT, reason: 'a client connected to the leafnode port', errText: 'Attempted To Connect To Leafnode Port' }
    if (typeof c.gateway === 'string' && c.gateway !== '') return { code: LeafCloseCodes.WRONG_PORT, reason: 'a gateway connected to the leafnode port', errText: 'Rejecting connection from gateway on the leafnode port' }
    const a = this.options.authorization
    if (a !== undefined) {
      // A token comes as `auth_token`, or as a lone URL user (what nats-server spokes send for `nats-leaf://TOKEN@host`).
      const token = typeof c.auth_token === 'string' ? c.auth_token : typeof c.user === 'string' && (c.pass === undefined || c.pass === '') ? c.user : undefined
      const ok = 'token' in a ? token !== undefined && sameSecret(token, a.token) : c.user === a.user && typeof c.pass === 'string' && sameSecret(c.pass, a.password)
      if (!ok) return { code: LeafCloseCodes.AUTH, reason: 'leafnode credentials rejected', errText: 'Authorization Violation' }
    }
    const clusterName = this.#broker.cluster?.options.name
    if (clusterName !== undefined && c.cluster === clusterName) return { code: LeafCloseCodes.PROTOCOL, reason: `leafnode is in this node's own cluster ${JSON.stringify(clusterName)}`, errText: 'Leafnode has same cluster name as the hub' }
    leaf.remoteId = typeof c.server_id === 'string' ? c.server_id.slice(0, 128) : ''
    leaf.remoteName = typeof c.name === 'string' ? c.name.slice(0, 128) : leaf.remoteId
    leaf.remoteCluster = typeof c.cluster === 'string' ? c.cluster.slice(0, 128) : ''
    // The peer declared itself the hub: this node takes the spoke role on the link.
    if (c.is_hub === true) leaf.spoke = true
    // A spoke that re-dialled before we noticed its old link died: the new link wins (nats-server's
    // addLeafNodeConnection), otherwise its own loop-detection subject would come back to it.
    if (leaf.remoteId !== '') {
      for (const old of this.interest.leafs) if (!old.solicited && old.remoteId === leaf.remoteId) old.closeWith(LeafCloseCodes.REPLACED, 'replaced by a new connection from the same server')
    }
    this.#register(leaf)
    return undefined
  }

  leafInfo(leaf: Leaf, info: Record<string, unknown>): void {
    if (leaf.registered) return // async INFO: leafnode URL updates, permissions; nothing to act on
    clearTimeout(this.#authTimers.get(leaf))
    this.#authTimers.delete(leaf)
    if (info.leafnode_urls === undefined || info.leafnode_urls === null || typeof info.server_id !== 'string') {
      leaf.closeWith(LeafCloseCodes.WRONG_PORT, 'the remote INFO is not a leafnode INFO (dialled a client or route port?)')
      return
    }
    if (info.server_id === this.#broker.serverId) {
      leaf.closeWith(LeafCloseCodes.LOOP, 'leafnode remote points at this node itself')
      return
    }
    leaf.remoteId = info.server_id.slice(0, 128)
    leaf.remoteName = typeof info.server_name === 'string' ? info.server_name.slice(0, 128) : leaf.remoteId
    leaf.remoteCluster = typeof info.cluster === 'string' ? info.cluster.slice(0, 128) : ''
    const d = this.#dialerOf.get(leaf)
    const o = this.#broker.options
    const connect: Record<string, unknown> = {
      version: o.protocolVersion,
      server_id: this.#broker.serverId,
      name: o.serverName === '' ? this.#broker.serverId : o.serverName,
      headers: true,
      remote_account: '$G',
    }
    const cluster = this.#broker.cluster?.options.name
    if (cluster !== undefined) connect.cluster = cluster
    // As nats-server's sendLeafConnect: the URL's user (a token when alone) and password.
    if (d !== undefined && d.creds.user !== '') {
      connect.user = d.creds.user
      if (d.creds.pass !== '') connect.pass = d.creds.pass
    }
    leaf.sendText(`CONNECT ${JSON.stringify(connect)}\r\n`)
    this.#register(leaf)
  }

  #register(leaf: Leaf): void {
    this.interest.register(leaf)
    leaf.sendPing()
    const d = this.#dialerOf.get(leaf)
    if (d !== undefined) {
      d.failures = 0
      d.delayMs = this.options.retryDelayMs
    }
    this.#broker.logger.info({ lid: leaf.lid, remote: leaf.remoteId, name: leaf.remoteName, solicited: leaf.solicited, spoke: leaf.spoke, addr: `${leaf.remoteAddress}:${leaf.remotePort}` }, 'leafnode registered')
  }

  leafClosed(leaf: Leaf, code: LeafCloseCode, reason: string): void {
    this.#all.delete(leaf)
    clearTimeout(this.#authTimers.get(leaf))
    this.#authTimers.delete(leaf)
    const wasRegistered = leaf.registered
    const gone = this.interest.dropLeaf(leaf)
    if (!leaf.spoke) for (const s of gone) this.#broker.cluster?.subRemoved(s.subject, s.queue)
    const fields = { code, lid: leaf.lid, remote: leaf.remoteId, addr: `${leaf.remoteAddress}:${leaf.remotePort}`, reason }
    if (this.#closed || code === LeafCloseCodes.REPLACED) this.#broker.logger.info(fields, 'leafnode closed')
    else this.#broker.logger.warn(fields, 'leafnode closed')
    const d = this.#dialerOf.get(leaf)
    this.#dialerOf.delete(leaf)
    if (d === undefined || this.#closed) return
    d.active = false
    if (!wasRegistered) d.failures++
    // A loop will close again at once: wait the longest delay first (nats-server waits 30 s).
    if (code === LeafCloseCodes.LOOP) d.delayMs = this.options.maxRetryDelayMs
    this.#retry(d)
  }

  #pingAll(max: number): void {
    for (const l of this.#all) {
      if (l.closed || !l.registered) continue
      if (l.pingsOut + 1 > max) l.closeWith(LeafCloseCodes.STALE, 'no PONG to PINGs', 'Stale Connection')
      else l.sendPing()
    }
  }
}
