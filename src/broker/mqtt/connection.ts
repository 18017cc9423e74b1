// One MQTT network connection. It is a broker Client (client.ts) for everything outbound: the
// batched per-turn flush, max_pending and write-deadline slow-consumer policy, /connz, producer
// flow control and shutdown are the NATS client's. Inbound it replaces the NATS parser with the
// MQTT framer and packet handlers below; subscriptions belong to its Session.
import { randomBytes } from 'node:crypto'
import { Client } from '../client.js'
import type { Transport } from '../transport.js'
import type { OutFrame } from '../subscription.js'
import { MsgHeaders } from '../headers.js'
import type { AuthResult } from '../auth.js'
import { MqttError, MqttErrorCodes, Reason, protocolError } from './errors.js'
import { MqttFramer, type FrameSink } from './framer.js'
import * as enc from './encode.js'
import {
  PacketType,
  UnsupportedLevel,
  checkEmpty,
  checkFlags,
  decodeAck,
  decodeConnect,
  decodeDisconnect,
  decodePublish,
  decodeSubscribe,
  decodeUnsubscribe,
  type ConnectPacket,
  type PublishPacket,
  type SubscribePacket,
  type Will,
} from './packets.js'
import type { Properties } from './properties.js'
import { MqttSub, Session, expired, expiryOf, type StoredMsg } from './session.js'
import { checkTopicName, filterSubjects, groupToQueue, parseFilter, startsWithWildcard, topicMatches, topicToSubject } from './topic.js'
import type { MqttFrontEnd } from './front-end.js'
import type { SharedPacket } from '../slab.js'

/** 3.1.1 CONNACK return codes. */
const RC3 = { UNACCEPTABLE_PROTOCOL: 1, IDENTIFIER_REJECTED: 2, BAD_USER_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const
const EMPTY = Buffer.alloc(0)
const NEVER_EXPIRES = 0xffffffff
/** Largest setTimeout delay. */
const MAX_TIMER_MS = 2_147_483_647
/** QoS 0 bodies at least this large go to the 2nd..Nth subscriber of a fan-out as one shared PUBLISH (no copy each). */
const SHARED_MIN = 2048
const FORWARDED_PROPS = ['payloadFormat', 'messageExpiry', 'contentType', 'responseTopic', 'correlationData'] as const

export class MqttConnection extends Client implements FrameSink {
  readonly #front: MqttFrontEnd
  readonly #framer: MqttFramer
  level = 0
  v5 = false
  session: Session | undefined
  /** QoS 1/2 messages in flight to this client at most (min of our limit and its Receive Maximum). */
  window: number
  /** Largest packet the client accepts (5.0 Maximum Packet Size). */
  #maxOutPacket = Number.MAX_SAFE_INTEGER
  #keepAliveMs = 0
  #will: Will | undefined
  #ended = false
  #started = false
  /** Input held while a bcrypt password check runs. */
  #held: Buffer[] | undefined
  #heldBytes = 0
  // One-entry cache of the last inbound topic (publishers usually repeat theirs).
  #lastTopic = ''
  #lastSubject = ''

  constructor(front: MqttFrontEnd, cid: number, transport: Transport, ip: string, port: number) {
    super(front.broker, cid, transport, ip, port)
    this.#front = front
    // Remaining length of a PUBLISH: payload + topic + properties; allow headroom over max_payload.
    this.#framer = new MqttFramer(this, front.broker.maxPayloadBytes + 64 * 1024)
    this.window = front.options.maxInflight
    this.lang = 'mqtt'
    this.echo = true
    this.headers = true
    this.verbose = false
    this.pedantic = false
  }

  // ---- inbound -------------------------------------------------------------------------------

  override feed(chunk: Buffer): void {
    if (this.closed) return
    this.lastActivity = Date.now()
    if (this.#held !== undefined) {
      this.#heldBytes += chunk.length
      if (this.#heldBytes > this.#front.broker.maxPayloadBytes * 2) this.#fail(protocolError('Cannot hold more input while authenticating'))
      else this.#held.push(Buffer.from(chunk))
      return
    }
    if (!this.#started && chunk.length > 0) {
      this.#started = true
      // The first packet must be CONNECT (MQTT-3.1.0-1): refuse anything else at its first byte,
      // without waiting for the body its length announces (an HTTP request would wait forever).
      if (chunk[0] !== 0x10) {
        this.close('first packet is not CONNECT')
        return
      }
    }
    try {
      this.#framer.push(chunk)
    } catch (err) {
      this.#fail(err)
    }
    const flow = this.#front.broker.flow
    const target = this.stallTarget
    if (target === undefined) flow.clear(this)
    else {
      this.stallTarget = undefined
      if (flow.stall(this, target)) this.stalls++
    }
  }

  onPacket(type: number, flags: number, body: Buffer): void {
    if (this.closed) return
    if (this.session === undefined) {
      if (type !== PacketType.CONNECT) throw protocolError(`Cannot accept packet type ${type} before CONNECT`)
      checkFlags(type, flags)
      this.#onConnect(body)
      return
    }
    checkFlags(type, flags)
    switch (type) {
      case PacketType.PUBLISH:
        this.#onPublish(decodePublish(flags, body, this.v5))
        break
      case PacketType.PUBACK: {
        const a = decodeAck(body, this.v5, 'PUBACK')
        this.session.acked(a.packetId)
        break
      }
      case PacketType.PUBREC: {
        const a = decodeAck(body, this.v5, 'PUBREC')
        const known = this.session.knows(a.packetId)
        if (this.session.received(a.packetId, a.reason)) this.sendRelease(a.packetId)
        else if (!known) this.sendRaw(enc.ack(PacketType.PUBREL, this.v5, a.packetId, Reason.PACKET_ID_NOT_FOUND))
        break
      }
      case PacketType.PUBREL: {
        const a = decodeAck(body, this.v5, 'PUBREL')
        const known = this.session.awaitingRel.delete(a.packetId)
        this.sendRaw(enc.ack(PacketType.PUBCOMP, this.v5, a.packetId, known ? 0 : Reason.PACKET_ID_NOT_FOUND))
        break
      }
      case PacketType.PUBCOMP:
        this.session.completed(decodeAck(body, this.v5, 'PUBCOMP').packetId)
        break
      case PacketType.SUBSCRIBE:
        this.#onSubscribe(decodeSubscribe(body, this.v5))
        break
      case PacketType.UNSUBSCRIBE:
        this.#onUnsubscribe(decodeUnsubscribe(body, this.v5))
        break
      case PacketType.PINGREQ:
        checkEmpty(body, 'PINGREQ')
        this.sendRaw(enc.PINGRESP)
        break
      case PacketType.DISCONNECT:
        this.#onDisconnect(body)
        break
      case PacketType.CONNECT:
        throw protocolError('Cannot accept a second CONNECT (MQTT-3.1.0-2)')
      case PacketType.AUTH:
        throw protocolError('Cannot accept AUTH: enhanced authentication is not supported', Reason.BAD_AUTH_METHOD)
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP and type 0 only go from server to client.
        throw protocolError(`Cannot accept packet type ${type} from a client`)
    }
  }

  /** Ends the connection for a protocol failure: 5.0 gets DISCONNECT with the reason once connected. */
  #fail(err: unknown): void {
    this.#framer.stop()
    if (this.closed) return
    const e = err instanceof MqttError ? err : new MqttError(MqttErrorCodes.PROTOCOL, Reason.IMPLEMENTATION_SPECIFIC, `Internal error: ${(err as Error).message}`, { cause: err })
    if (this.v5 && this.session !== undefined) this.sendRaw(enc.disconnect(e.reasonCode))
    this.close(`${e.code}: ${e.message}`)
  }

  // ---- CONNECT --------------------------------------------------------------------------------

  #onConnect(body: Buffer): void {
    let c: ConnectPacket
    try {
      c = decodeConnect(body)
    } catch (err) {
      if (err instanceof UnsupportedLevel) {
        // 3.1.1 form, 0x01, whatever the level (as mosquitto answers): a 5.0 CONNACK with 0x84 is
        // only meaningful to a client that speaks 5.0, and such a client sent level 5.
        this.sendRaw(enc.connack(false, false, RC3.UNACCEPTABLE_PROTOCOL))
        this.close('unsupported MQTT protocol level')
        return
      }
      throw err
    }
    this.level = c.level
    this.v5 = c.level === 5
    this.version = c.level === 5 ? '5.0' : c.level === 4 ? '3.1.1' : '3.1'
    if (this.v5 && c.props.authMethod !== undefined) return this.#refuse(Reason.BAD_AUTH_METHOD, RC3.NOT_AUTHORIZED, 'enhanced authentication is not supported')
    if (c.will !== undefined) {
      try {
        checkTopicName(c.will.topic)
      } catch {
        return this.#refuse(Reason.TOPIC_NAME_INVALID, RC3.NOT_AUTHORIZED, 'invalid will topic')
      }
    }
    if (c.clientId === '' && (!this.v5 && (!c.clean || c.level === 3))) return this.#refuse(Reason.CLIENT_ID_NOT_VALID, RC3.IDENTIFIER_REJECTED, 'empty client id')
    const broker = this.#front.broker
    if (broker.authRequired) {
      const pass = c.password?.toString('utf8')
      const auth = broker.authenticate({ ...(c.username === undefined ? {} : { user: c.username }), ...(pass === undefined ? {} : { pass, auth_token: pass }) })
      if (auth instanceof Promise) {
        this.#framer.suspend()
        this.#held = []
        void auth.then(
          (r) => this.#afterAuth(c, r),
          () => this.#afterAuth(c, undefined),
        )
        return
      }
      if (!this.#applyAuth(c, auth)) return
    }
    this.#accept(c)
  }

  #afterAuth(c: ConnectPacket, r: AuthResult | undefined): void {
    if (this.closed || !this.#applyAuth(c, r)) return
    this.#accept(c)
    const held = this.#held ?? []
    this.#held = undefined
    const rest = this.#framer.resume()
    if (rest !== undefined) held.unshift(rest)
    for (const chunk of held) this.feed(chunk)
  }

  #applyAuth(c: ConnectPacket, r: AuthResult | undefined): boolean {
    if (r === undefined) {
      this.#refuse(Reason.BAD_USER_OR_PASSWORD, c.username === undefined ? RC3.NOT_AUTHORIZED : RC3.BAD_USER_OR_PASSWORD, 'authentication failed')
      return false
    }
    this.user = r.user
    this.permissions = r.permissions
    return true
  }

  #refuse(code5: number, code3: number, reason: string): void {
    this.sendRaw(enc.connack(this.v5, false, this.v5 ? code5 : code3))
    this.close(reason)
  }

  #accept(c: ConnectPacket): void {
    const front = this.#front
    let clientId = c.clientId
    const props: Properties = {}
    if (clientId === '') {
      clientId = `auto-${randomBytes(12).toString('hex')}`
      if (this.v5) props.assignedClientId = clientId
    }
    this.name = clientId
    this.#will = c.will
    this.#keepAliveMs = c.keepAliveS * 1000
    if (this.v5) {
      if (c.props.receiveMaximum !== undefined) this.window = Math.min(this.window, c.props.receiveMaximum)
      if (c.props.maximumPacketSize !== undefined) this.#maxOutPacket = c.props.maximumPacketSize
      props.maximumPacketSize = this.#framer.maxBodyBytes + 5
    }
    const expiryS = this.v5 ? (c.props.sessionExpiry ?? 0) : c.clean ? 0 : NEVER_EXPIRES
    // Take over: the old connection goes (MQTT-3.1.4-3), its session ends on clean start (MQTT-3.1.2-4).
    let session = front.sessions.get(clientId)
    const old = session?.conn
    if (old !== undefined && old !== this) {
      old.takenOver()
      // Its session may have ended with it (expiry 0).
      session = front.sessions.get(clientId)
    }
    if (session !== undefined) {
      if (session.willTimer !== undefined) {
        clearTimeout(session.willTimer)
        session.willTimer = undefined
        // Clean start ends the old session, and its delayed will goes now; resuming it cancels the will.
        if (c.clean) session.willNow?.()
        session.willNow = undefined
      }
      if (c.clean) {
        session.destroy()
        front.sessions.delete(clientId)
        session = undefined
      }
    }
    const present = session !== undefined
    if (session === undefined) {
      session = new Session(front, clientId)
      front.sessions.set(clientId, session)
    }
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
    session.expiryTimer = undefined
    session.expiryS = expiryS
    session.conn = this
    this.session = session
    this.connected = true
    this.sendRaw(enc.connack(this.v5, present, 0, props))
    if (present) session.resend()
  }

  // ---- PUBLISH --------------------------------------------------------------------------------

  #subjectOf(topic: string): string {
    if (topic !== this.#lastTopic) {
      this.#lastTopic = topic
      this.#lastSubject = topicToSubject(topic)
    }
    return this.#lastSubject
  }

  #onPublish(p: PublishPacket): void {
    const session = this.session as Session
    if (p.props.topicAlias !== undefined) throw protocolError('Cannot accept a topic alias: Topic Alias Maximum is 0', Reason.TOPIC_ALIAS_INVALID)
    checkTopicName(p.topic)
    this.inMsgs++
    this.inBytes += p.payload.length
    if (p.qos === 2 && session.awaitingRel.has(p.packetId)) {
      // A resend of a QoS 2 message already delivered (MQTT-4.3.3-9): acknowledge only.
      this.sendRaw(enc.ack(PacketType.PUBREC, this.v5, p.packetId))
      return
    }
    const subject = this.#subjectOf(p.topic)
    let reason = 0
    if (this.permissions !== undefined && !this.permissions.canPublish(subject)) reason = Reason.NOT_AUTHORIZED
    else {
      if (p.retain) this.#retain(p, subject)
      const delivered = this.publish(subject, p.payload, p.qos, p.retain, p.props)
      if (!delivered) reason = Reason.NO_MATCHING_SUBSCRIBERS
    }
    if (p.qos === 1) this.sendRaw(enc.ack(PacketType.PUBACK, this.v5, p.packetId, reason))
    else if (p.qos === 2) {
      if (reason < 0x80) session.awaitingRel.add(p.packetId)
      this.sendRaw(enc.ack(PacketType.PUBREC, this.v5, p.packetId, reason))
    }
  }

  /** Routes one message through the broker's subject index (the same path as a NATS PUB). */
  publish(subject: string, body: Buffer, qos: number, retain: boolean, props: Properties): boolean {
    let payload = body
    let hdrLen = -1
    const user = props.userProperties
    if (user !== undefined && user.length > 0) {
      const h = new MsgHeaders()
      for (const [k, v] of user) {
        try {
          h.append(k, v)
        } catch {
          // A name or value NATS headers cannot carry (spaces, colons, line breaks): not forwarded.
        }
      }
      const block = h.encode()
      hdrLen = block.length
      payload = Buffer.concat([block, body])
    }
    let fwd: Record<string, unknown> | undefined
    for (const k of FORWARDED_PROPS) {
      const v = props[k]
      if (v !== undefined) (fwd ??= {})[k] = v
    }
    const reply = props.responseTopic === undefined ? '' : topicToSubject(props.responseTopic)
    const front = this.#front
    const prev = front.origin
    front.origin = { session: this.session as Session, qos, retain, props: fwd as Properties | undefined }
    try {
      return front.broker.route(this, subject, reply, hdrLen, payload)
    } finally {
      front.origin = prev
    }
  }

  #retain(p: PublishPacket, subject: string): void {
    const retained = this.#front.retained
    // An empty retained message deletes the one on that topic (MQTT-3.3.1-10/11).
    if (p.payload.length === 0) retained.delete(p.topic)
    else retained.set(p.topic, { topic: p.topic, subject, payload: Buffer.from(p.payload), qos: p.qos, props: retainedProps(p.props), expiresAt: expiryOf(p.props) })
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ----------------------------------------------------------------

  #onSubscribe(s: SubscribePacket): void {
    const session = this.session as Session
    const broker = this.#front.broker
    const subId = s.props.subscriptionIds?.[0] ?? 0
    const codes: number[] = []
    const retainedFor: MqttSub[] = []
    for (const req of s.subs) {
      const { filter, group } = parseFilter(req.filter)
      if (group !== undefined && req.noLocal) throw protocolError('Cannot accept No Local on a shared subscription (MQTT-3.8.3-4)')
      const queue = group === undefined ? undefined : groupToQueue(group)
      // `a/#` is `a` and `a.>`: a user allowed `a.>` only gets that part.
      const perms = this.permissions
      const subjects = filterSubjects(filter).filter((subj) => perms === undefined || perms.canSubscribe(subj, queue))
      if (subjects.length === 0) {
        codes.push(this.v5 ? Reason.NOT_AUTHORIZED : 0x80)
        continue
      }
      const existing = session.subs.get(req.filter)
      const max = broker.maxSubscriptions
      if (existing === undefined && max > 0 && session.subs.size >= max) {
        codes.push(this.v5 ? Reason.QUOTA_EXCEEDED : 0x80)
        continue
      }
      if (existing !== undefined) for (const old of existing) session.removeSub(old)
      const qos = req.qos
      const list = subjects.map((subj) => {
        const sub = new MqttSub(session, subj, queue, req.filter, qos, req.noLocal, req.retainAsPublished, startsWithWildcard(filter), subId)
        sub.drop = broker.dropFor(subj)
        sub.deny = this.permissions?.denyFilter(subj)
        return sub
      })
      session.subs.set(req.filter, list)
      for (const sub of list) broker.addSub(sub)
      codes.push(qos)
      // Retained messages: never to shared subscriptions; Retain Handling 1 only for new ones, 2 never.
      if (group === undefined && (req.retainHandling === 0 || (req.retainHandling === 1 && existing === undefined))) retainedFor.push(list[0] as MqttSub)
    }
    this.sendRaw(enc.suback(this.v5, s.packetId, codes))
    for (const sub of retainedFor) this.#sendRetained(sub)
  }

  #sendRetained(sub: MqttSub): void {
    const session = this.session as Session
    const filter = parseFilter(sub.filterText).filter
    const retained = this.#front.retained
    for (const r of retained.values()) {
      if (expired(r)) {
        retained.delete(r.topic)
        continue
      }
      if (!topicMatches(filter, r.topic)) continue
      if (sub.deny !== undefined && sub.deny.denies(r.subject)) continue
      const props: Properties | undefined = sub.subscriptionId === 0 ? r.props : { ...r.props, subscriptionIds: [sub.subscriptionId] }
      const msg: StoredMsg = { topic: Buffer.from(r.topic), qos: Math.min(r.qos, sub.qos), retain: true, payload: r.payload, props, expiresAt: r.expiresAt }
      if (msg.qos === 0) this.sendStored(msg, 0, false)
      else session.offer(msg)
    }
  }

  #onUnsubscribe(u: { packetId: number; filters: string[] }): void {
    const session = this.session as Session
    const codes: number[] = []
    for (const f of u.filters) {
      parseFilter(f)
      const list = session.subs.get(f)
      if (list === undefined) codes.push(Reason.NO_SUBSCRIPTION_EXISTED)
      else {
        for (const sub of list) session.removeSub(sub)
        session.subs.delete(f)
        codes.push(0)
      }
    }
    this.sendRaw(enc.unsuback(this.v5, u.packetId, codes))
  }

  // ---- DISCONNECT, keep-alive, end of connection ----------------------------------------------

  #onDisconnect(body: Buffer): void {
    const d = decodeDisconnect(body, this.v5)
    const session = this.session as Session
    const expiry = d.props.sessionExpiry
    if (expiry !== undefined) {
      if (session.expiryS === 0 && expiry !== 0) throw protocolError('Cannot set a session expiry on DISCONNECT when CONNECT had none (MQTT-3.14.2-2)')
      session.expiryS = expiry
    }
    // Normal disconnect discards the will (MQTT-3.14.4-3), except 5.0 "Disconnect with Will Message".
    if (d.reason !== Reason.DISCONNECT_WITH_WILL) this.#will = undefined
    this.close('client disconnected')
  }

  checkKeepAlive(now: number): void {
    if (this.closed) return
    if (this.session === undefined) {
      if (now - this.start.getTime() > this.#front.options.connectTimeoutMs) this.close('no CONNECT in time')
      return
    }
    // One and a half times the keep-alive without a packet (MQTT-3.1.2-24).
    if (this.#keepAliveMs > 0 && now - this.lastActivity > this.#keepAliveMs * 1.5) {
      if (this.v5) this.sendRaw(enc.disconnect(Reason.KEEP_ALIVE_TIMEOUT))
      this.close('keep-alive timeout')
    }
  }

  /** Another connection took this client id over. */
  takenOver(): void {
    if (this.v5) this.sendRaw(enc.disconnect(Reason.SESSION_TAKEN_OVER))
    this.close('session taken over')
  }

  /** Broker shutdown: 5.0 clients are told why; wills are not published by a stopping broker. */
  shutdown(): void {
    this.#will = undefined
    if (this.v5 && this.session !== undefined) this.sendRaw(enc.disconnect(Reason.SERVER_SHUTTING_DOWN))
    this.close('server shutdown')
  }

  override sendPing(): void {
    // MQTT keep-alive is driven by the client (PINGREQ); the NATS PING sweep does not apply.
  }

  /** Slow consumer and other broker-side closes: 5.0 clients get a DISCONNECT first. */
  override closeWithError(_text: string, reason: string): void {
    if (this.closed) return
    if (this.v5 && this.session !== undefined) this.sendRaw(enc.disconnect(Reason.QUOTA_EXCEEDED))
    this.close(reason)
  }

  override close(reason: string): void {
    if (this.closed) return
    this.#framer.stop()
    super.close(reason)
    this.#end()
  }

  override onTransportClosed(): void {
    if (this.closed) return
    super.onTransportClosed()
    this.#end()
  }

  #end(): void {
    if (this.#ended) return
    this.#ended = true
    const front = this.#front
    front.connections.delete(this)
    const session = this.session
    if (session === undefined || session.conn !== this) return
    session.conn = undefined
    const will = this.#will
    this.#will = undefined
    const expiryS = session.expiryS
    if (will !== undefined && !front.broker.closed) {
      const delayS = Math.min(will.props.willDelay ?? 0, expiryS)
      const publish = (): void => this.#publishWill(will)
      if (delayS === 0) publish()
      else {
        session.willNow = publish
        session.willTimer = setTimeout(() => {
          session.willTimer = undefined
          session.willNow = undefined
          publish()
        }, Math.min(MAX_TIMER_MS, delayS * 1000))
        session.willTimer.unref()
      }
    }
    if (expiryS === 0) {
      session.destroy()
      front.sessions.delete(session.clientId)
    } else if (expiryS !== NEVER_EXPIRES) {
      session.expiryTimer = setTimeout(() => {
        if (session.conn !== undefined) return
        session.willNow?.()
        if (session.willTimer !== undefined) clearTimeout(session.willTimer)
        session.destroy()
        if (front.sessions.get(session.clientId) === session) front.sessions.delete(session.clientId)
      }, Math.min(MAX_TIMER_MS, expiryS * 1000))
      session.expiryTimer.unref()
    }
  }

  #publishWill(will: Will): void {
    const subject = topicToSubject(will.topic)
    if (this.permissions !== undefined && !this.permissions.canPublish(subject)) return
    if (will.retain) {
      if (will.payload.length === 0) this.#front.retained.delete(will.topic)
      else this.#front.retained.set(will.topic, { topic: will.topic, subject, payload: will.payload, qos: will.qos, props: retainedProps(will.props), expiresAt: expiryOf(will.props) })
    }
    try {
      this.publish(subject, will.payload, will.qos, will.retain, will.props)
    } catch (err) {
      this.#front.broker.logger.error({ err }, 'mqtt will publish failed')
    }
  }

  // ---- outbound --------------------------------------------------------------------------------

  /** QoS 0 delivery of a routed frame (hot path: no copy of the payload beyond the out buffer). */
  deliver0(sub: MqttSub, frame: OutFrame, retain: boolean): void {
    if (this.closed) return
    const front = this.#front
    const topic = front.topicOf(frame.subject)
    const body = frame.hdrLen >= 0 ? frame.payload.subarray(frame.hdrLen) : frame.payload
    const props = this.v5 ? front.propsFor(sub, frame) : undefined
    if (props === undefined) {
      if (body.length >= SHARED_MIN) {
        const shared = front.plainWhole(this.v5, topic, retain, frame, body)
        if (shared !== undefined) {
          this.#writeShared(shared, body.length, sub.drop)
          return
        }
      }
      this.#write(front.plainHead(this.v5, topic, retain, frame.payload, body.length), body, sub.drop)
    } else this.#write(enc.publishHead(this.v5, topic, 0, retain, false, 0, props, body.length), body, sub.drop)
  }

  /** A whole PUBLISH shared with other subscribers of the same fan-out: queued as a view, not copied. */
  #writeShared(p: SharedPacket, bodyLength: number, drop: boolean): void {
    const n = p.whole.length
    if (!this.#admit(n, drop)) return
    this.sendSlice(p.base, p.start, p.start + n)
    this.outMsgs++
    this.outBytes += bodyLength
  }

  /** PUBREL for an outbound QoS 2 message the client has PUBREC'd. */
  sendRelease(id: number): void {
    if (!this.closed) this.sendRaw(enc.ack(PacketType.PUBREL, this.v5, id))
  }

  /** A stored (QoS 1/2, or retained) message; `id` 0 for QoS 0. */
  sendStored(msg: StoredMsg, id: number, dup: boolean): void {
    if (this.closed) return
    let props = this.v5 ? msg.props : undefined
    // The expiry a client sees is what is left of it (MQTT-3.3.2-6).
    if (props !== undefined && msg.expiresAt !== 0) props = { ...props, messageExpiry: Math.max(0, Math.ceil((msg.expiresAt - Date.now()) / 1000)) }
    const head = enc.publishHead(this.v5, msg.topic, msg.qos, msg.retain, dup, id, props, msg.payload.length)
    this.#write(head, msg.payload, false)
  }

  #write(head: Buffer, body: Buffer, drop: boolean): void {
    if (!this.#admit(head.length + body.length, drop)) return
    this.sendMessage(head, EMPTY, body, EMPTY)
    this.outMsgs++
    this.outBytes += body.length
  }

  /**
   * May a packet of `size` bytes be queued for this client? Not over the client's Maximum Packet
   * Size (such a message is discarded for this client, MQTT-3.1.2-25), and not past max_pending:
   * then it is dropped (drop_subjects) or the client is cut as a slow consumer.
   */
  #admit(size: number, drop: boolean): boolean {
    if (size > this.#maxOutPacket) return false
    const max = this.#front.broker.maxPendingBytes
    if (this.backlogBytes + size > max && this.pendingBytes + size > max) {
      if (drop) this.dropped++
      else this.slowConsumer()
      return false
    }
    return true
  }

  /** Not used: the session is the subscriber (session.ts). */
  override deliver(): void {}
}

/** Properties a retained message keeps for later subscribers. */
function retainedProps(p: Properties): Properties | undefined {
  let out: Record<string, unknown> | undefined
  for (const k of [...FORWARDED_PROPS, 'userProperties'] as const) {
    const v = p[k]
    if (v !== undefined) (out ??= {})[k] = v
  }
  return out as Properties | undefined
}
