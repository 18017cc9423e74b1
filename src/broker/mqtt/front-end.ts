// The MQTT front-end of the broker: TCP and WebSocket listeners, the sessions by client id, the
// retained messages, keep-alive checks, and the per-route context that lets MQTT subscribers see
// the QoS, retain flag and 5.0 properties of an MQTT publish that the NATS frame does not carry.
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Broker } from '../server.js'
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { MsgHeaders } from '../headers.js'
import { SocketTransport, WsTransport } from '../transport.js'
import type { OutFrame } from '../subscription.js'
import { MqttConnection } from './connection.js'
import type { ResolvedMqttOptions } from './options.js'
import type { Properties } from './properties.js'
import { Session, expiryOf, type MqttSub, type StoredMsg } from './session.js'
import { subjectToTopic } from './topic.js'
import { publishHead } from './encode.js'
import { Slab, type SharedPacket } from '../slab.js'

/** What an MQTT publish adds to the routed NATS frame, valid during one `broker.route` call. */
export interface PublishOrigin {
  session: Session
  qos: number
  retain: boolean
  /** 5.0 properties forwarded to MQTT subscribers (user properties travel as NATS headers). */
  props: Properties | undefined
}

export interface RetainedMsg {
  topic: string
  subject: string
  payload: Buffer
  qos: number
  props: Properties | undefined
  expiresAt: number
}

interface HeadCache {
  payload: Buffer | undefined
  topic: Buffer | undefined
  head: Buffer
}

interface WholeCache extends SharedPacket {
  /** OutFrame.seq of the message (a payload buffer may be reused by an in-process publisher). */
  seq: number
  topic: Buffer | undefined
  built: boolean
}

const EMPTY = Buffer.alloc(0)

/** Keep-alive and CONNECT deadlines are checked this often. */
const SWEEP_MS = 250

export class MqttFrontEnd {
  readonly broker: Broker
  readonly options: ResolvedMqttOptions
  readonly sessions = new Map<string, Session>()
  readonly retained = new Map<string, RetainedMsg>()
  readonly connections = new Set<MqttConnection>()
  origin: PublishOrigin | undefined
  #server: NetServer | undefined
  #wss: WebSocketServer | undefined
  #sweep: NodeJS.Timeout | undefined
  // One-entry caches: a fan-out delivers one frame to many sessions in a row.
  #lastSubject = ''
  #lastTopic: Buffer = Buffer.alloc(0)
  #lastHdrPayload: Buffer | undefined
  #lastUserProps: [string, string][] | undefined

  constructor(broker: Broker, options: ResolvedMqttOptions) {
    this.broker = broker
    this.options = options
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0
  }

  get wsPort(): number {
    return (this.#wss?.address() as AddressInfo | undefined)?.port ?? 0
  }

  async listen(defaultHost: string): Promise<void> {
    const o = this.options
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket))
    this.#server = server
    const host = o.host ?? defaultHost
    const failed = (port: number) => (err: Error) => new BrokerError(BrokerErrorCodes.LISTEN, `Cannot listen for MQTT on ${host}:${port}: ${err.message}`, { cause: err })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(failed(o.port)(err)))
      server.listen({ port: o.port, host: o.host ?? defaultHost, backlog: 4096 }, () => resolve())
    })
    server.on('error', (err) => this.broker.logger.error({ err }, 'mqtt listener error'))
    if (o.websocket !== undefined) {
      const wss = new WebSocketServer({
        host: o.websocket.host ?? o.host ?? defaultHost,
        port: o.websocket.port,
        perMessageDeflate: false,
        // MQTT over WebSocket names the subprotocol `mqtt` (3.1.1 section 6, 5.0 section 6).
        handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
      })
      this.#wss = wss
      const wsPort = o.websocket.port
      await new Promise<void>((resolve, reject) => {
        wss.once('error', (err) => reject(failed(wsPort)(err)))
        wss.once('listening', () => resolve())
      })
      wss.on('error', (err) => this.broker.logger.error({ err }, 'mqtt websocket listener error'))
      wss.on('connection', (ws, req) => this.#acceptWs(ws, req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0))
    }
    this.#sweep = setInterval(() => this.#checkDeadlines(), SWEEP_MS)
    this.#sweep.unref()
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep)
    for (const c of [...this.connections]) c.shutdown()
    for (const s of this.sessions.values()) {
      if (s.willTimer !== undefined) clearTimeout(s.willTimer)
      s.destroy()
    }
    this.sessions.clear()
    const waits: Promise<void>[] = []
    const server = this.#server
    if (server !== undefined) waits.push(new Promise<void>((resolve) => server.close(() => resolve())))
    const wss = this.#wss
    if (wss !== undefined) {
      for (const ws of wss.clients) ws.terminate()
      waits.push(new Promise<void>((resolve) => wss.close(() => resolve())))
    }
    await Promise.all(waits)
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    if (this.broker.closed) {
      socket.destroy()
      return
    }
    const conn = new MqttConnection(this, this.broker.nextClientId(), new SocketTransport(socket, 'tcp'), socket.remoteAddress ?? '', socket.remotePort ?? 0)
    socket.on('data', (chunk: Buffer) => {
      conn.feed(chunk)
      this.broker.readProgress()
    })
    socket.on('drain', () => conn.onDrain())
    socket.on('close', () => conn.onTransportClosed())
    this.#admit(conn)
  }

  #acceptWs(ws: WebSocket, ip: string, port: number): void {
    if (this.broker.closed) {
      ws.terminate()
      return
    }
    ws.binaryType = 'nodebuffer'
    const conn = new MqttConnection(this, this.broker.nextClientId(), new WsTransport(ws), ip, port)
    ws.on('message', (data: Buffer) => conn.feed(data))
    ws.on('close', () => conn.onTransportClosed())
    ws.on('error', () => ws.terminate())
    this.#admit(conn)
  }

  #admit(conn: MqttConnection): void {
    if (!this.broker.adoptClient(conn)) {
      conn.close('max connections')
      return
    }
    this.connections.add(conn)
  }

  #checkDeadlines(): void {
    const now = Date.now()
    for (const c of this.connections) c.checkKeepAlive(now)
  }

  // ---- delivery helpers ------------------------------------------------------------------------

  /** The encoded topic name for a frame's subject (cached for a fan-out). */
  topicOf(subject: string): Buffer {
    if (subject !== this.#lastSubject) {
      this.#lastSubject = subject
      this.#lastTopic = Buffer.from(subjectToTopic(subject))
    }
    return this.#lastTopic
  }

  /**
   * The QoS 0 PUBLISH head (everything before the body) of a message without properties: the same
   * bytes for every subscriber of one protocol version, so built once per fan-out.
   */
  plainHead(v5: boolean, topic: Buffer, retain: boolean, payload: Buffer, bodyLength: number): Buffer {
    const i = (v5 ? 2 : 0) + (retain ? 1 : 0)
    const c = this.#heads[i] as HeadCache
    if (c.payload !== payload || c.topic !== topic) {
      c.payload = payload
      c.topic = topic
      c.head = publishHead(v5, topic, 0, retain, false, 0, undefined, bodyLength)
    }
    return c.head
  }

  /**
   * The whole QoS 0 PUBLISH (head and body) of a message without properties, built once and shared
   * by every subscriber of a fan-out: on the first delivery when the routing may reach two or more
   * (`frame.fanout`), else on the second (undefined before: a lone subscriber copies into its own
   * buffer). The body is copied once, into a slab shared by many messages, so the result never
   * aliases a socket chunk and costs no allocation of its own.
   */
  plainWhole(v5: boolean, topic: Buffer, retain: boolean, frame: OutFrame, body: Buffer): SharedPacket | undefined {
    const i = (v5 ? 2 : 0) + (retain ? 1 : 0)
    const c = this.#wholes[i] as WholeCache
    const payload = frame.payload
    if (c.seq !== frame.seq || c.topic !== topic) {
      c.seq = frame.seq
      c.topic = topic
      c.built = false
      if (frame.fanout < 2) return undefined
    }
    if (!c.built) {
      const head = this.plainHead(v5, topic, retain, payload, body.length)
      const slab = this.#slab
      const w = slab.take(head.length + body.length)
      w.set(head, 0)
      w.set(body, head.length)
      c.whole = w
      c.base = slab.base
      c.start = slab.start
      c.built = true
    }
    return c
  }

  readonly #slab = new Slab()

  readonly #wholes: WholeCache[] = [0, 1, 2, 3].map(() => ({ seq: -1, topic: undefined, built: false, whole: EMPTY, base: EMPTY, start: 0 }))

  readonly #heads: HeadCache[] = [0, 1, 2, 3].map(() => ({ payload: undefined, topic: undefined, head: EMPTY }))

  /** NATS headers of a frame as 5.0 user properties (cached for a fan-out). */
  userPropsOf(frame: OutFrame): [string, string][] | undefined {
    if (frame.hdrLen <= 0) return undefined
    if (frame.payload === this.#lastHdrPayload) return this.#lastUserProps
    let props: [string, string][] | undefined
    try {
      const h = MsgHeaders.parse(frame.payload.subarray(0, frame.hdrLen))
      props = []
      for (const [k, v] of h.entries()) if (Buffer.byteLength(k) < 65536 && Buffer.byteLength(v) < 65536) props.push([k, v])
      if (props.length === 0) props = undefined
    } catch {
      props = undefined
    }
    this.#lastHdrPayload = frame.payload
    this.#lastUserProps = props
    return props
  }

  /** 5.0 properties for delivering `frame` on `sub`, undefined when there are none. */
  propsFor(sub: MqttSub, frame: OutFrame): Properties | undefined {
    const origin = this.origin
    const user = this.userPropsOf(frame)
    const base = origin?.props
    if (user === undefined && base === undefined && sub.subscriptionId === 0 && frame.reply === '') return undefined
    const p: Properties = base === undefined ? {} : { ...base }
    if (user !== undefined) p.userProperties = user
    if (sub.subscriptionId !== 0) p.subscriptionIds = [sub.subscriptionId]
    if (frame.reply !== '' && p.responseTopic === undefined) p.responseTopic = subjectToTopic(frame.reply)
    return p
  }

  /** A QoS 1 or 2 copy of `frame` for `sub`'s session. */
  store(sub: MqttSub, frame: OutFrame, qos: number, retain: boolean): StoredMsg {
    const body = frame.hdrLen >= 0 ? frame.payload.subarray(frame.hdrLen) : frame.payload
    const props = this.propsFor(sub, frame)
    return { topic: this.topicOf(frame.subject), qos, retain, payload: Buffer.from(body), props, expiresAt: expiryOf(props) }
  }
}
