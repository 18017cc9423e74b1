// MQTT 3.1.1 / 5.0 packet bodies (client to server) decoded into plain objects, with every
// fixed-header flag, reserved bit and field checked as the specifications require. Throws MqttError:
// MALFORMED for bad bytes, PROTOCOL for well-formed packets the protocol forbids.
import { Reason, malformed, protocolError } from './errors.js'
import { PropCtx, Reader, readProperties, type Properties } from './properties.js'

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const

/** Protocol levels: 3 = 3.1 (MQIsdp), 4 = 3.1.1, 5 = 5.0. */
export type ProtocolLevel = 3 | 4 | 5

export interface Will {
  topic: string
  payload: Buffer
  qos: number
  retain: boolean
  props: Properties
}

export interface ConnectPacket {
  level: ProtocolLevel
  clientId: string
  clean: boolean
  keepAliveS: number
  username: string | undefined
  password: Buffer | undefined
  will: Will | undefined
  props: Properties
}

export interface PublishPacket {
  topic: string
  qos: number
  retain: boolean
  dup: boolean
  packetId: number
  payload: Buffer
  props: Properties
}

export interface SubscriptionRequest {
  filter: string
  qos: number
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: number
}

export interface SubscribePacket {
  packetId: number
  subs: SubscriptionRequest[]
  props: Properties
}

export interface UnsubscribePacket {
  packetId: number
  filters: string[]
  props: Properties
}

export interface AckPacket {
  packetId: number
  reason: number
  props: Properties
}

export interface DisconnectPacket {
  reason: number
  props: Properties
}

/** Thrown by decodeConnect for a protocol level this broker does not speak: answer with CONNACK `level`. */
export class UnsupportedLevel extends Error {
  readonly level: number
  constructor(level: number) {
    super(`Cannot accept protocol level ${level}: expected 3, 4 or 5`)
    this.level = level
  }
}

const NONE: Properties = Object.freeze({}) as Properties

/** Fixed-header flags every packet type but PUBLISH must carry (MQTT-2.2.2-1/2). */
export function checkFlags(type: number, flags: number): void {
  const want = type === PacketType.PUBREL || type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE ? 2 : 0
  if (type !== PacketType.PUBLISH && flags !== want) throw malformed(`Cannot read packet type ${type}: reserved flags 0x${flags.toString(16)}`)
}

function done(r: Reader, what: string): void {
  if (r.left !== 0) throw malformed(`Cannot read ${what}: ${r.left} extra bytes`)
}

export function decodeConnect(body: Buffer): ConnectPacket {
  const r = new Reader(body)
  const name = r.utf8('protocol name')
  const level = r.u8('protocol level')
  if (name !== 'MQTT' && name !== 'MQIsdp') throw protocolError(`Cannot accept protocol name ${JSON.stringify(name)}`)
  if ((name === 'MQTT' && level !== 4 && level !== 5) || (name === 'MQIsdp' && level !== 3)) throw new UnsupportedLevel(level)
  const v5 = level === 5
  const flags = r.u8('connect flags')
  if ((flags & 0x01) !== 0) throw malformed('Cannot read CONNECT: reserved flag bit 0 is set')
  const clean = (flags & 0x02) !== 0
  const willFlag = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 0x03
  const willRetain = (flags & 0x20) !== 0
  const hasPassword = (flags & 0x40) !== 0
  const hasUser = (flags & 0x80) !== 0
  if (willQos === 3) throw malformed('Cannot read CONNECT: will QoS 3')
  if (!willFlag && (willQos !== 0 || willRetain)) throw malformed('Cannot read CONNECT: will QoS or retain set without a will')
  if (!v5 && hasPassword && !hasUser) throw malformed('Cannot read CONNECT: password without user name')
  const keepAliveS = r.u16('keep alive')
  const props = v5 ? readProperties(r, PropCtx.CONNECT) : NONE
  const clientId = r.utf8('client identifier')
  let will: Will | undefined
  if (willFlag) {
    const wprops = v5 ? readProperties(r, PropCtx.WILL) : NONE
    const topic = r.utf8('will topic')
    const payload = Buffer.from(r.binary('will payload'))
    will = { topic, payload, qos: willQos, retain: willRetain, props: wprops }
  }
  const username = hasUser ? r.utf8('user name') : undefined
  const password = hasPassword ? Buffer.from(r.binary('password')) : undefined
  done(r, 'CONNECT')
  return { level: level as ProtocolLevel, clientId, clean, keepAliveS, username, password, will, props }
}

export function decodePublish(flags: number, body: Buffer, v5: boolean): PublishPacket {
  const qos = (flags >> 1) & 0x03
  const dup = (flags & 0x08) !== 0
  if (qos === 3) throw malformed('Cannot read PUBLISH: QoS 3')
  if (qos === 0 && dup) throw malformed('Cannot read PUBLISH: DUP set on a QoS 0 message')
  const r = new Reader(body)
  const topic = r.utf8('topic name')
  let packetId = 0
  if (qos > 0) {
    packetId = r.u16('packet identifier')
    if (packetId === 0) throw malformed('Cannot read PUBLISH: packet identifier 0')
  }
  const props = v5 ? readProperties(r, PropCtx.PUBLISH) : NONE
  return { topic, qos, retain: (flags & 0x01) !== 0, dup, packetId, payload: body.subarray(r.pos), props }
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id, then (5.0, optional) a reason code and properties. */
export function decodeAck(body: Buffer, v5: boolean, what: string): AckPacket {
  const r = new Reader(body)
  const packetId = r.u16('packet identifier')
  if (packetId === 0) throw malformed(`Cannot read ${what}: packet identifier 0`)
  let reason = 0
  let props = NONE
  if (v5) {
    if (r.left > 0) reason = r.u8('reason code')
    if (r.left > 0) props = readProperties(r, PropCtx.ACK)
  }
  done(r, what)
  return { packetId, reason, props }
}

export function decodeSubscribe(body: Buffer, v5: boolean): SubscribePacket {
  const r = new Reader(body)
  const packetId = r.u16('packet identifier')
  if (packetId === 0) throw malformed('Cannot read SUBSCRIBE: packet identifier 0')
  const props = v5 ? readProperties(r, PropCtx.SUBSCRIBE) : NONE
  const subs: SubscriptionRequest[] = []
  while (r.left > 0) {
    const filter = r.utf8('topic filter')
    const o = r.u8('subscription options')
    const qos = o & 0x03
    if (qos === 3) throw malformed('Cannot read SUBSCRIBE: QoS 3')
    if (v5) {
      if ((o & 0xc0) !== 0) throw malformed('Cannot read SUBSCRIBE: reserved option bits set')
      const retainHandling = (o >> 4) & 0x03
      if (retainHandling === 3) throw protocolError('Cannot accept SUBSCRIBE: retain handling 3')
      subs.push({ filter, qos, noLocal: (o & 0x04) !== 0, retainAsPublished: (o & 0x08) !== 0, retainHandling })
    } else {
      if ((o & 0xfc) !== 0) throw malformed('Cannot read SUBSCRIBE: reserved option bits set')
      subs.push({ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 })
    }
  }
  if (subs.length === 0) throw protocolError('Cannot accept SUBSCRIBE without topic filters')
  return { packetId, subs, props }
}

export function decodeUnsubscribe(body: Buffer, v5: boolean): UnsubscribePacket {
  const r = new Reader(body)
  const packetId = r.u16('packet identifier')
  if (packetId === 0) throw malformed('Cannot read UNSUBSCRIBE: packet identifier 0')
  const props = v5 ? readProperties(r, PropCtx.UNSUBSCRIBE) : NONE
  const filters: string[] = []
  while (r.left > 0) filters.push(r.utf8('topic filter'))
  if (filters.length === 0) throw protocolError('Cannot accept UNSUBSCRIBE without topic filters')
  return { packetId, filters, props }
}

export function decodeDisconnect(body: Buffer, v5: boolean): DisconnectPacket {
  if (!v5) {
    if (body.length !== 0) throw malformed('Cannot read DISCONNECT: 3.1.1 DISCONNECT has no body')
    return { reason: 0, props: NONE }
  }
  const r = new Reader(body)
  const reason = r.left > 0 ? r.u8('reason code') : 0
  const props = r.left > 0 ? readProperties(r, PropCtx.DISCONNECT) : NONE
  done(r, 'DISCONNECT')
  return { reason, props }
}

/** PINGREQ has no body. */
export function checkEmpty(body: Buffer, what: string): void {
  if (body.length !== 0) throw malformed(`Cannot read ${what}: expected no body, got ${body.length} bytes`)
}

export { Reason }
