// One MQTT session (MQTT-4.1): its subscriptions (kept in the broker's subject index while the
// session lives, connected or not), QoS 1/2 messages in flight and queued, inbound QoS 2 ids awaiting
// PUBREL. The session, not the connection, is the subscriber the broker delivers to.
import { Sub, type OutFrame, type SubClient, type SubOwner } from '../subscription.js'
import type { Properties } from './properties.js'
import type { MqttConnection } from './connection.js'
import type { MqttFrontEnd } from './front-end.js'

/** A message kept for a QoS 1/2 delivery (in flight or queued). Payload is a private copy. */
export interface StoredMsg {
  topic: Buffer
  qos: number
  retain: boolean
  payload: Buffer
  props: Properties | undefined
  /** 5.0 Message Expiry: when it expires (ms since epoch), 0 for never. */
  expiresAt: number
}

/** The expiry time of a message with these properties (MQTT-3.3.2-5), 0 for never. */
export function expiryOf(props: Properties | undefined, now = Date.now()): number {
  return props?.messageExpiry === undefined ? 0 : now + props.messageExpiry * 1000
}

export function expired(msg: { expiresAt: number }, now = Date.now()): boolean {
  return msg.expiresAt !== 0 && now >= msg.expiresAt
}

export class MqttSub extends Sub {
  readonly session: Session
  /** The filter as the client sent it (with `$share/...`): the key for replace and UNSUBSCRIBE. */
  readonly filterText: string
  /** Granted QoS (0, 1 or 2). */
  readonly qos: number
  readonly noLocal: boolean
  readonly retainAsPublished: boolean
  /** Filter starts with `+`/`#`: `$...` topics do not match it (MQTT-4.7.2-1). */
  readonly wildFirst: boolean
  readonly subscriptionId: number

  constructor(session: Session, subject: string, queue: string | undefined, filterText: string, qos: number, noLocal: boolean, rap: boolean, wildFirst: boolean, subscriptionId: number) {
    super(session, subject, queue, filterText, session, undefined)
    this.session = session
    this.filterText = filterText
    this.qos = qos
    this.noLocal = noLocal
    this.retainAsPublished = rap
    this.wildFirst = wildFirst
    this.subscriptionId = subscriptionId
  }
}

export class Session implements SubClient, SubOwner {
  readonly clientId: string
  readonly #front: MqttFrontEnd
  readonly echo = true
  readonly headers = true
  /** Subscriptions by filter text; `a/#` is two Subs (`a` and `a.>`). */
  readonly subs = new Map<string, MqttSub[]>()
  conn: MqttConnection | undefined
  /** Seconds the session outlives its connection; 0xFFFFFFFF = forever (3.1.1 persistent sessions). */
  expiryS = 0
  readonly inflight = new Map<number, StoredMsg>()
  queue: StoredMsg[] = []
  /** Outbound QoS 2 packet ids PUBREC'd by the client and released (PUBREL sent), awaiting PUBCOMP. */
  readonly released = new Set<number>()
  /** Inbound QoS 2 packet ids delivered and awaiting PUBREL (MQTT-4.3.3). */
  readonly awaitingRel = new Set<number>()
  #nextId = 1
  ended = false
  dropped = 0
  expiryTimer: NodeJS.Timeout | undefined
  willTimer: NodeJS.Timeout | undefined
  /** Publishes the pending delayed will now (the session ended first); set while willTimer runs. */
  willNow: (() => void) | undefined

  constructor(front: MqttFrontEnd, clientId: string) {
    this.#front = front
    this.clientId = clientId
  }

  get cid(): number {
    return this.conn?.cid ?? 0
  }

  get closed(): boolean {
    return this.conn === undefined || this.conn.closed
  }

  /** For the broker's producer flow control (server.ts #noteBacklog). */
  get backlogBytes(): number {
    return this.conn === undefined ? 0 : this.conn.backlogBytes
  }

  get pendingBytes(): number {
    return this.conn === undefined ? 0 : this.conn.pendingBytes
  }

  // ---- delivery (hot path) -------------------------------------------------------------------

  deliver(sub: Sub, frame: OutFrame): void {
    // Called from another client's publish: a failure here must end this session's connection,
    // never the publisher's.
    try {
      this.#deliver(sub as MqttSub, frame)
    } catch (err) {
      this.#front.broker.logger.error({ err, clientId: this.clientId }, 'mqtt delivery failed')
      this.conn?.close('delivery failed')
    }
  }

  #deliver(s: MqttSub, frame: OutFrame): void {
    if (s.wildFirst && frame.subject.charCodeAt(0) === 36) return
    const origin = this.#front.origin
    if (s.noLocal && origin !== undefined && origin.session === this) return
    // NATS and in-process messages have no QoS: they go at the subscription's granted QoS.
    const qos = origin === undefined ? s.qos : Math.min(origin.qos, s.qos)
    const retain = s.retainAsPublished && origin !== undefined && origin.retain
    const conn = this.conn
    if (qos === 0) {
      if (conn !== undefined) conn.deliver0(s, frame, retain)
      return
    }
    const msg = this.#front.store(s, frame, qos, retain)
    this.offer(msg)
  }

  /** A QoS 1 or 2 message: sent now if the window allows, else queued (bounded). */
  offer(msg: StoredMsg): void {
    const conn = this.conn
    if (conn !== undefined && !conn.closed && this.inflight.size < conn.window && this.queue.length === 0) {
      const id = this.#takeId()
      if (id !== 0) {
        this.inflight.set(id, msg)
        conn.sendStored(msg, id, false)
        return
      }
    }
    if (this.queue.length >= this.#front.options.maxQueuedMessages) {
      this.dropped++
      return
    }
    this.queue.push(msg)
  }

  #takeId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.#nextId
      this.#nextId = id === 65535 ? 1 : id + 1
      if (!this.inflight.has(id)) return id
    }
    return 0
  }

  /** PUBACK for `id` (a QoS 1 message): frees a window slot and sends what waits. */
  acked(id: number): boolean {
    if (this.inflight.get(id)?.qos !== 1) return false
    this.inflight.delete(id)
    this.pump()
    return true
  }

  /** PUBREC for `id` (a QoS 2 message): true when the caller must send PUBREL (MQTT-4.3.3). */
  received(id: number, reason: number): boolean {
    if (this.inflight.get(id)?.qos !== 2) return false
    if (reason >= 0x80) {
      // A failed PUBREC ends the exchange: the id is free again, nothing more is sent.
      this.inflight.delete(id)
      this.released.delete(id)
      this.pump()
      return false
    }
    this.released.add(id)
    return true
  }

  /** Whether `id` is known to this session's outbound QoS 2 flow (for a PUBREL reason code). */
  knows(id: number): boolean {
    return this.inflight.get(id)?.qos === 2
  }

  /** PUBCOMP for `id`: the QoS 2 exchange is over. */
  completed(id: number): void {
    if (!this.released.delete(id)) return
    this.inflight.delete(id)
    this.pump()
  }

  /** Fills the in-flight window from the queue. */
  pump(): void {
    const conn = this.conn
    if (conn === undefined) return
    while (this.queue.length > 0 && this.inflight.size < conn.window && !conn.closed) {
      // Expired before onward delivery started: deleted (MQTT-3.3.2-5).
      if (expired(this.queue[0] as StoredMsg)) {
        this.queue.shift()
        continue
      }
      const id = this.#takeId()
      if (id === 0) return
      const msg = this.queue.shift() as StoredMsg
      this.inflight.set(id, msg)
      conn.sendStored(msg, id, false)
    }
  }

  /** On reconnect with a present session: unacknowledged messages again, with DUP (MQTT-4.4.0-1), in order. */
  resend(): void {
    const conn = this.conn
    if (conn === undefined) return
    // Released ones get their PUBREL again, the others their PUBLISH (MQTT-4.4.0-1).
    for (const [id, msg] of this.inflight) {
      if (this.released.has(id)) conn.sendRelease(id)
      else conn.sendStored(msg, id, true)
    }
    this.pump()
  }

  removeSub(sub: Sub): void {
    if (sub.closed) return
    sub.closed = true
    this.#front.broker.unindexSub(sub)
  }

  /** Drops every subscription and stored message (clean start, expiry). */
  destroy(): void {
    this.ended = true
    for (const list of this.subs.values()) for (const sub of list) this.removeSub(sub)
    this.subs.clear()
    this.inflight.clear()
    this.released.clear()
    this.queue = []
    this.awaitingRel.clear()
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer)
    this.expiryTimer = undefined
  }
}
