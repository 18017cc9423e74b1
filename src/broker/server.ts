// The broker: listens for TCP/TLS and WebSocket clients (connections.ts accepts and admits them),
// routes every message through the subject index to network and in-process subscribers, flushes
// outbound buffers once per event-loop turn, and implements the embedded API (publish/subscribe/
// hasInterest with no network hop).
import { randomBytes } from 'node:crypto'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net'
import type { Logger } from 'pino'
import { silentLogger } from '../internal/logger.js'
import type { AdminServer } from '../internal/admin-server.js'
import type { DeepReadonly } from '../internal/freeze.js'
import { packageVersion } from '../internal/version.js'
import { Authenticator } from './auth.js'
import { Client, type ClientHost, type ConnectOptions } from './client.js'
import { Connections, type ClosedConnection } from './connections.js'
import { BrokerError, BrokerErrorCodes } from './errors.js'
import { Frame } from './out-frame.js'
import { ProducerFlow } from './flow-control.js'
import { MsgHeaders } from './headers.js'
import { resolveOptions, type BrokerOptions, type ResolvedBrokerOptions } from './options.js'
import { isValidLiteralSubject, isValidSubject, patternCovers } from './subject.js'
import { Sub, type SubOwner } from './subscription.js'
import { Sublist } from './sublist.js'
import type { Transport } from './transport.js'
import type { EmbeddedBroker, MsgHandler, MsgSender, PublishOptions, SubscribeOptions, Subscription } from './types.js'
// The optional parts (monitor, WebSocket, MQTT, RESP, JetStream, routes, leafnodes) are imported
// only when configured, in listen()/startBroker: a default broker never loads them or their
// dependencies (issue #16: about 16 MB of RSS; test/broker/lazy-modules.test.ts checks it).
import type { WsListener } from './ws-listener.js'
import type { MqttFrontEnd } from './mqtt/front-end.js'
import type { RespFrontEnd } from './resp/front-end.js'
import type { JetStreamHandle, JetStreamOptions } from './streams/index.js'
import type { RouteManager } from './cluster/route-manager.js'
import type { LocalMember } from './cluster/interest.js'
import type { ResolvedClusterOptions } from './cluster/options.js'
import type { LeafManager } from './cluster/leaf-manager.js'
import type { ResolvedLeafnodeOptions } from './cluster/leaf-options.js'

const NO_RESPONDERS = Buffer.from('NATS/1.0 503\r\n\r\n')
const encoder = new TextEncoder()

export interface BrokerStats {
  inMsgs: number
  inBytes: number
  outMsgs: number
  outBytes: number
  slowConsumers: number
  totalConnections: number
}

/** Deliveries after which their output is flushed within the turn (Broker.readProgress). */
const FLUSH_AFTER_DELIVERIES = 4000

export class Broker implements EmbeddedBroker, ClientHost, SubOwner {
  readonly options: DeepReadonly<ResolvedBrokerOptions>
  readonly serverId: string
  readonly start = new Date()
  readonly logger: Logger
  readonly sublist = new Sublist<Sub>()
  readonly clients = new Map<number, Client>()
  readonly closedConnections: ClosedConnection[] = []
  readonly stats: BrokerStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, slowConsumers: 0, totalConnections: 0 }
  readonly maxPayloadBytes: number
  readonly maxControlLineBytes: number
  readonly maxPendingBytes: number
  readonly flow: ProducerFlow
  readonly maxSubscriptions: number
  monitor: AdminServer | undefined
  /** Extra INFO fields (e.g. `jetstream: true`), merged into every INFO sent from now on. */
  readonly infoExtra: Record<string, unknown> = {}
  /** Set by startBroker when `jetstream` options are given. */
  jetstream: JetStreamHandle | undefined
  /** The MQTT front-end (src/broker/mqtt); undefined without an `mqtt` option. */
  mqtt: MqttFrontEnd | undefined
  /** The Redis (RESP) pub/sub front-end (src/broker/resp); undefined without a `resp` option. */
  resp: RespFrontEnd | undefined
  #cluster: RouteManager | undefined
  #leafs: LeafManager | undefined

  #auth: Authenticator
  readonly #conns: Connections
  #netServer: NetServer | undefined
  #ws: WsListener | undefined
  #port = 0
  #dirty: Client[] = []
  #flushScheduled = false
  #frames: Frame[] = []
  #depth = 0
  #pingTimer: NodeJS.Timeout | undefined
  #sweepTimer: NodeJS.Timeout | undefined
  #closed = false
  #infoBase = ''
  readonly #flushAll = (): void => this.#flush()

  constructor(options: DeepReadonly<ResolvedBrokerOptions>) {
    this.options = options
    this.logger = (options.logger as Logger | undefined) ?? silentLogger()
    this.serverId = `NC${randomBytes(27).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X').slice(0, 54)}`
    this.maxPayloadBytes = options.maxPayloadBytes
    this.maxControlLineBytes = options.maxControlLineBytes
    this.maxPendingBytes = options.maxPendingBytes
    this.flow = new ProducerFlow(options.maxPendingBytes)
    this.maxSubscriptions = options.maxSubscriptions
    this.#auth = new Authenticator(options.token, options.users as ResolvedBrokerOptions['users'])
    this.#conns = new Connections(this)
  }

  /** Routes to the other nodes; undefined without a `cluster` option (then nothing below touches it), and until listen(). */
  get cluster(): RouteManager | undefined {
    return this.#cluster
  }

  /** Leafnode links (hub and spoke); undefined without a `leafnodes` option, and until listen(). */
  get leafs(): LeafManager | undefined {
    return this.#leafs
  }

  get port(): number {
    return this.#port
  }

  /** WebSocket listener port, 0 when there is none. */
  get wsPort(): number {
    return this.#ws?.port ?? 0
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#port}`
  }

  get authRequired(): boolean {
    return this.#auth.required
  }

  get closed(): boolean {
    return this.#closed
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async listen(): Promise<void> {
    const o = this.options
    // Before anything listens, as when they were built in the constructor; only configured parts are imported.
    if (o.cluster !== undefined && this.#cluster === undefined) {
      const { RouteManager } = await import('./cluster/route-manager.js')
      this.#cluster = new RouteManager(this, o.cluster as ResolvedClusterOptions)
    }
    if (o.leafnodes !== undefined && this.#leafs === undefined) {
      const { LeafManager } = await import('./cluster/leaf-manager.js')
      this.#leafs = new LeafManager(this, o.leafnodes as ResolvedLeafnodeOptions)
    }
    const server = createNetServer({ noDelay: true }, (socket) => this.#conns.accept(socket))
    this.#netServer = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new BrokerError(BrokerErrorCodes.LISTEN, `Cannot listen on ${o.host}:${o.port}: ${err.message}`, { cause: err })))
      // nats-server's accept backlog (Node's default of 511 made 2,000 simultaneous connects 8x slower).
      server.listen({ port: o.port, host: o.host, backlog: 4096 }, () => resolve())
    })
    server.on('error', (err) => this.logger.error({ err }, 'client listener error'))
    this.#port = (server.address() as AddressInfo).port
    if (o.websocket !== undefined) {
      const host = o.websocket.host ?? o.host
      const { listenWebSocket } = await import('./ws-listener.js')
      this.#ws = await listenWebSocket(o.websocket, host, this.logger, (sock, ip, port) => this.#conns.acceptWs(sock, ip, port))
    }
    if (o.mqtt !== undefined) {
      const { MqttFrontEnd } = await import('./mqtt/front-end.js')
      this.mqtt = new MqttFrontEnd(this, o.mqtt as ResolvedBrokerOptions['mqtt'] & object)
      await this.mqtt.listen(o.host)
    }
    if (o.resp !== undefined) {
      const { RespFrontEnd } = await import('./resp/front-end.js')
      this.resp = new RespFrontEnd(this, o.resp as ResolvedBrokerOptions['resp'] & object)
      await this.resp.listen(o.host)
    }
    this.#buildInfo()
    await this.#cluster?.listen()
    await this.#leafs?.listen()
    this.#pingTimer = setInterval(() => this.#conns.pingAll(), o.pingIntervalMs)
    this.#pingTimer.unref()
    // An eighth of the deadline (at most 250 ms): a stuck client is cut at most ~2 sweeps after write_deadline.
    this.#sweepTimer = setInterval(() => this.#conns.sweep(), Math.max(25, Math.min(250, o.writeDeadlineMs / 8)))
    this.#sweepTimer.unref()
    if (o.monitorPort !== false) {
      const { startMonitor } = await import('./monitor.js')
      this.monitor = await startMonitor(this, o.monitorHost, o.monitorPort)
    }
    this.logger.info({ port: this.#port, monitor: this.monitor?.port, ws: this.#ws?.port }, 'broker listening')
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return
    // JetStream first: it flushes consumer state and fsyncs stores while publishing still works.
    await this.jetstream?.close()
    this.#closed = true
    clearInterval(this.#pingTimer)
    clearInterval(this.#sweepTimer)
    await this.#cluster?.close()
    await this.#leafs?.close()
    this.flow.releaseAll()
    const waits: Promise<void>[] = []
    if (this.mqtt !== undefined) waits.push(this.mqtt.close())
    if (this.resp !== undefined) waits.push(this.resp.close())
    if (this.#netServer !== undefined) {
      const s = this.#netServer
      waits.push(new Promise<void>((resolve) => s.close(() => resolve())))
    }
    for (const c of [...this.clients.values()]) {
      c.close('server shutdown')
      c.transport.destroy()
    }
    if (this.#ws !== undefined) waits.push(this.#ws.close())
    if (this.monitor !== undefined) waits.push(this.monitor.close())
    await Promise.all(waits)
    this.logger.info('broker closed')
  }

  // ---- connections ----------------------------------------------------------------------------

  #buildInfo(): void {
    const o = this.options
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: o.serverName === '' ? this.serverId : o.serverName,
      version: o.protocolVersion,
      proto: 1,
      go: `switchyard ${packageVersion()} (node ${process.version})`,
      host: o.host,
      port: this.#port,
      headers: true,
      max_payload: o.maxPayloadBytes,
    }
    if (this.#auth.required) info.auth_required = true
    if (o.tls !== undefined) {
      info.tls_required = true
      if (o.tls.verify === true) info.tls_verify = true
    }
    const json = JSON.stringify({ ...info, ...this.infoExtra })
    this.#infoBase = json.slice(0, -1)
  }

  info(client: Client): string {
    if (Object.keys(this.infoExtra).length > 0) this.#buildInfo()
    return `INFO ${this.#infoBase},"client_id":${client.cid},"client_ip":${JSON.stringify(client.remoteAddress)}} \r\n`
  }

  /** A connection id for a client another front-end (MQTT) accepted. */
  nextClientId(): number {
    return this.#conns.nextCid()
  }

  /** Registers such a client (connection list, write deadlines, shutdown); false over max_connections. */
  adoptClient(client: Client): boolean {
    return this.#conns.adopt(client)
  }

  clientClosed(client: Client, reason: string): void {
    this.#conns.remove(client, reason)
  }

  authenticate(connect: ConnectOptions): ReturnType<Authenticator['authenticate']> {
    return this.#auth.authenticate(connect)
  }

  countSlowConsumer(): void {
    this.stats.slowConsumers++
  }

  // ---- outbound batching ----------------------------------------------------------------------

  markDirty(client: Client): void {
    this.#dirty.push(client)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flushAll)
    }
  }

  /**
   * Called after a read from a client: once the deliveries routed since the last flush reach
   * FLUSH_AFTER_DELIVERIES, they are flushed now instead of at the end of the event-loop turn. A
   * turn may read megabytes from a fast publisher (libuv reads a socket while it has data);
   * holding all of it back turns a steady stream into bursts that leave the subscribers idle, then
   * the broker. nats-server flushes after every read; this flushes after a bounded amount of work.
   * Used by the RESP and MQTT front-ends (RESP 1->10: 128 B +15-45%, 4 KiB +10-15% deliveries/s).
   */
  readProgress(): void {
    if (this.#heldDeliveries >= FLUSH_AFTER_DELIVERIES && this.#dirty.length > 0) this.#flushList()
  }

  /** Deliveries routed since the last flush. */
  #heldDeliveries = 0

  #flush(): void {
    this.#flushScheduled = false
    this.#flushList()
  }

  #flushList(): void {
    this.#heldDeliveries = 0
    const list = this.#dirty
    this.#dirty = []
    for (let i = 0; i < list.length; i++) (list[i] as Client).flush()
  }

  // ---- subscriptions --------------------------------------------------------------------------

  addSub(sub: Sub): void {
    this.sublist.insert(sub)
    if (!sub.local) {
      this.#cluster?.subAdded(sub.subject, sub.queue)
      this.#leafs?.subAdded(sub.subject, sub.queue)
    }
  }

  unindexSub(sub: Sub): void {
    if (this.sublist.remove(sub) && !sub.local) {
      this.#cluster?.subRemoved(sub.subject, sub.queue)
      this.#leafs?.subRemoved(sub.subject, sub.queue)
    }
  }

  /** SubOwner for in-process subscriptions. */
  removeSub(sub: Sub): void {
    if (sub.closed) return
    sub.closed = true
    this.unindexSub(sub)
  }

  dropFor(subject: string): boolean {
    for (const p of this.options.dropSubjects) if (patternCovers(p, subject)) return true
    return false
  }

  // ---- routing (hot path) ---------------------------------------------------------------------

  /** Delivers to local subscriptions and peers; true when anyone got the message. */
  route(from: Client | undefined, subject: string, reply: string, hdrLen: number, payload: Buffer, msgSubject: string = subject): boolean {
    const local = this.#routeLocal(from, subject, reply, hdrLen, payload, msgSubject)
    if (this.#cluster === undefined && this.#leafs === undefined) return local > 0
    return this.#toPeers(from, subject, reply, hdrLen, payload, msgSubject) || local > 0
  }

  /** `route`, answering how many local subscriptions got the message (Redis PUBLISH's reply). */
  routeCounting(from: Client | undefined, subject: string, reply: string, hdrLen: number, payload: Buffer): number {
    const local = this.#routeLocal(from, subject, reply, hdrLen, payload, subject)
    if (this.#cluster !== undefined || this.#leafs !== undefined) this.#toPeers(from, subject, reply, hdrLen, payload, subject)
    return local
  }

  /** Cluster and leafnodes: to the peers with interest; true when any peer was sent the message. */
  #toPeers(from: Client | undefined, subject: string, reply: string, hdrLen: number, payload: Buffer, msgSubject: string): boolean {
    const cluster = this.#cluster
    const leafs = this.#leafs
    const noEcho = from !== undefined && !from.echo ? from : undefined
    let groups: readonly (readonly LocalMember[])[] = this.sublist.match(subject).qsubs
    let sent = false
    // JetStream's re-subjected deliveries stay off leaf links (no JetStream across leafnodes).
    if (leafs !== undefined && msgSubject === subject) {
      const f = leafs.forward(subject, reply, hdrLen, payload, groups, noEcho)
      sent = f.sent
      // A queue group a leaf serves is not served again by a route.
      if (f.served.length > 0) groups = [...groups, ...f.served]
    }
    if (cluster !== undefined) {
      // A JetStream delivery is routed by its target (deliver subject or pull inbox) but shown with
      // the stream message's subject: over a route the subject rides on the ack reply as
      // `<$JS.ACK...>@<subject>`, the encoding nats-server uses, and the receiving node undoes it.
      const routeReply = msgSubject !== subject && reply.startsWith(JS_ACK_PREFIX) ? `${reply}@${msgSubject}` : reply
      sent = cluster.forward(subject, routeReply, hdrLen, payload, groups, noEcho) || sent
    }
    return sent
  }

  /** Delivers to this node's subscriptions; returns how many got the message. */
  #routeLocal(from: Client | undefined, subject: string, reply: string, hdrLen: number, payload: Buffer, msgSubject: string): number {
    this.stats.inMsgs++
    this.stats.inBytes += payload.length
    const r = this.sublist.match(subject)
    const psubs = r.psubs
    const qsubs = r.qsubs
    if (psubs.length === 0 && qsubs.length === 0) return 0
    const depth = this.#depth++
    const frame = (this.#frames[depth] ??= new Frame()).reset(msgSubject, reply, hdrLen, payload, from, psubs.length + qsubs.length)
    const noEcho = from !== undefined && !from.echo ? from : undefined
    let count = 0
    try {
      for (let i = 0; i < psubs.length; i++) {
        const sub = psubs[i] as Sub
        if (sub.closed || (noEcho !== undefined && sub.client === noEcho)) continue
        if (sub.deny !== undefined && sub.deny.denies(subject)) continue
        this.#deliverTo(sub, frame)
        if (from !== undefined) this.#noteBacklog(from, sub)
        count++
      }
      for (let g = 0; g < qsubs.length; g++) {
        const members = qsubs[g] as Sub[]
        const n = members.length
        const start = (r.cursors[g] as number) % n
        r.cursors[g] = start + 1
        for (let k = 0; k < n; k++) {
          const sub = members[(start + k) % n] as Sub
          // A member denied this subject passes it to the next one (nats-server does the same).
          if (sub.closed || (noEcho !== undefined && sub.client === noEcho) || (sub.deny !== undefined && sub.deny.denies(subject))) continue
          this.#deliverTo(sub, frame)
          if (from !== undefined) this.#noteBacklog(from, sub)
          count++
          break
        }
      }
    } finally {
      this.#depth--
      frame.clear()
    }
    this.#heldDeliveries += count
    return count
  }

  /**
   * A message from a route: to every local plain subscriber and, of the queue groups the sender
   * named, one local member each. Never sent on to another route (no loops in the full mesh);
   * sent on to the leafs this node is the hub for.
   */
  deliverFromRoute(subject: string, reply: string, hdrLen: number, payload: Buffer, queues: string[] | undefined): void {
    this.deliverFromPeer(subject, reply, hdrLen, payload, queues)
    this.#leafs?.fromRoute(subject, reply, hdrLen, payload, queues)
  }

  /** A message from a route or a leaf, to this node's own subscribers only (see deliverFromRoute). */
  deliverFromPeer(subject: string, reply: string, hdrLen: number, payload: Buffer, queues: string[] | undefined): void {
    this.stats.inMsgs++
    this.stats.inBytes += payload.length
    const r = this.sublist.match(subject)
    if (r.psubs.length === 0 && (queues === undefined || r.qsubs.length === 0)) return
    let msgSubject = subject
    if (reply.startsWith(JS_ACK_PREFIX)) {
      const at = reply.lastIndexOf('@')
      if (at > 0 && at < reply.length - 1) {
        msgSubject = reply.slice(at + 1)
        reply = reply.slice(0, at)
      }
    }
    const depth = this.#depth++
    const frame = (this.#frames[depth] ??= new Frame()).reset(msgSubject, reply, hdrLen, payload, PEER_SENDER, r.psubs.length + r.qsubs.length)
    try {
      for (const sub of r.psubs) {
        if (sub.closed || sub.local || (sub.deny !== undefined && sub.deny.denies(subject))) continue
        this.#deliverTo(sub, frame)
      }
      if (queues === undefined) return
      for (let g = 0; g < r.qsubs.length; g++) {
        const members = r.qsubs[g] as Sub[]
        if (!queues.includes((members[0] as Sub).queue as string)) continue
        const n = members.length
        const start = (r.cursors[g] as number) % n
        r.cursors[g] = start + 1
        for (let k = 0; k < n; k++) {
          const sub = members[(start + k) % n] as Sub
          if (sub.closed || sub.local || (sub.deny !== undefined && sub.deny.denies(subject))) continue
          this.#deliverTo(sub, frame)
          break
        }
      }
    } finally {
      this.#depth--
      frame.clear()
    }
  }

  /** INFO `connect_urls` (the cluster's client URLs); clients that speak protocol 1 get an async INFO. */
  setConnectUrls(urls: string[]): void {
    this.infoExtra['connect_urls'] = urls
    for (const c of this.clients.values()) if (c.connected && c.protocol >= 1 && !c.closed) c.sendText(this.info(c))
  }

  /** Marks `from` for a stall after this read when `sub`'s client is over the threshold (flow-control.ts). */
  #noteBacklog(from: Client, sub: Sub): void {
    const client = sub.client as Client | undefined
    if (client === undefined || client === from || sub.drop || client.backlogBytes <= this.flow.thresholdBytes) return
    from.stallTarget = client
  }

  #deliverTo(sub: Sub, frame: Frame): void {
    const client = sub.client
    if (client !== undefined) {
      ;(client as Client).deliver(sub, frame)
    } else {
      try {
        ;(sub.handler as MsgHandler)(frame.msg())
      } catch (err) {
        this.logger.error({ err, subject: sub.subject }, 'in-process subscription handler threw')
      }
    }
    this.stats.outMsgs++
    this.stats.outBytes += frame.payload.length
    if (++sub.delivered >= sub.max && sub.max > 0) sub.owner.removeSub(sub)
  }

  noResponders(client: Client, reply: string): void {
    const r = this.sublist.match(reply)
    for (const list of [r.psubs, ...r.qsubs]) {
      for (const sub of list) {
        if (sub.client === client && !sub.closed) {
          const depth = this.#depth++
          const frame = (this.#frames[depth] ??= new Frame()).reset(reply, '', NO_RESPONDERS.length, NO_RESPONDERS)
          try {
            this.#deliverTo(sub, frame)
          } finally {
            this.#depth--
            frame.clear()
          }
          return
        }
      }
    }
  }

  // ---- embedded API ---------------------------------------------------------------------------

  publish(subject: string, data?: Uint8Array | string, options?: PublishOptions): void {
    if (this.#closed) throw new BrokerError(BrokerErrorCodes.CLOSED, `Cannot publish to "${subject}": the broker is closed`)
    if (!isValidLiteralSubject(subject)) throw new BrokerError(BrokerErrorCodes.BAD_SUBJECT, `Cannot publish to ${JSON.stringify(subject)}: not a valid literal subject`)
    const reply = options?.reply ?? ''
    if (reply !== '' && !isValidLiteralSubject(reply)) throw new BrokerError(BrokerErrorCodes.BAD_SUBJECT, `Cannot use reply subject ${JSON.stringify(reply)}: not a valid literal subject`)
    const body = data === undefined ? new Uint8Array(0) : typeof data === 'string' ? encoder.encode(data) : data
    let payload: Buffer
    let hdrLen = -1
    if (options?.headers !== undefined) {
      const block = MsgHeaders.encodeLike(options.headers)
      hdrLen = block.length
      payload = Buffer.allocUnsafe(block.length + body.length)
      payload.set(block, 0)
      payload.set(body, block.length)
    } else {
      // One copy per publish (not per delivery): the caller may reuse its buffer afterwards.
      payload = Buffer.from(body)
    }
    if (payload.length > this.maxPayloadBytes) {
      throw new BrokerError(BrokerErrorCodes.MAX_PAYLOAD, `Cannot publish to "${subject}": size ${payload.length} exceeds max_payload ${this.maxPayloadBytes}`)
    }
    this.route(undefined, subject, reply, hdrLen, payload, options?.msgSubject)
  }

  subscribe(subject: string, options: SubscribeOptions, handler: MsgHandler): Subscription {
    if (this.#closed) throw new BrokerError(BrokerErrorCodes.CLOSED, `Cannot subscribe to "${subject}": the broker is closed`)
    if (!isValidSubject(subject)) throw new BrokerError(BrokerErrorCodes.BAD_SUBJECT, `Cannot subscribe to ${JSON.stringify(subject)}: not a valid subject`)
    const queue = options.queue === '' ? undefined : options.queue
    if (queue !== undefined && /[\s]/.test(queue)) throw new BrokerError(BrokerErrorCodes.BAD_SUBJECT, `Cannot use queue group ${JSON.stringify(queue)}: no whitespace allowed`)
    const sub = new Sub(this, subject, queue, '', undefined, handler)
    if (options.max !== undefined && options.max > 0) sub.max = options.max
    if (options.local === true) sub.local = true
    this.addSub(sub)
    return sub
  }

  /** Interest on this node or, in a cluster, on any route (JetStream asks before delivering). */
  hasInterest(subject: string): boolean {
    if (this.sublist.hasInterest(subject)) return true
    const cluster = this.#cluster
    return cluster !== undefined && cluster.interest.remoteCount > 0 && cluster.interest.anyInterest(subject)
  }

  /** Transport of a client, for monitoring. */
  static transportKind(t: Transport): string {
    return t.kind
  }
}

/** The sender of a message from a route or leafnode: its user's permissions are not known here. */
const PEER_SENDER: MsgSender = { canPublish: () => false }

/** JetStream ack replies; a delivery's subject rides after an `@` on them across routes. */
const JS_ACK_PREFIX = '$JS.ACK.'

/** nats.js enables its JetStream consumer API only for servers reporting at least 2.9.4. */
const JETSTREAM_PROTOCOL_VERSION = '2.9.10'

/** Starts a broker and resolves once it listens. `jetstream` turns on durable streams (see docs/streams.md). */
export async function startBroker(options: BrokerOptions & { jetstream?: JetStreamOptions } = {}): Promise<Broker> {
  const { jetstream, ...rest } = options
  // A cluster node without streams of its own still fronts other nodes' JetStream domains.
  const jsReachable = jetstream !== undefined || rest.cluster !== undefined
  const broker = new Broker(resolveOptions(!jsReachable || rest.protocolVersion !== undefined ? rest : { ...rest, protocolVersion: JETSTREAM_PROTOCOL_VERSION }))
  try {
    // Loaded before the port opens: between listen() and enableJetStream a client's JetStream
    // request finds no responder (503), so that window stays as short as it was with a static import.
    const enableJetStream = jetstream === undefined ? undefined : (await import('./streams/enable.js')).enableJetStream
    await broker.listen()
    if (jetstream !== undefined && enableJetStream !== undefined) await enableJetStream(broker, jetstream)
  } catch (err) {
    await broker.close().catch(() => {})
    throw err
  }
  return broker
}
