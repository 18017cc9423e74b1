// Encoders for the packets the broker sends. PUBLISH has a split form for fan-out: the part before
// the payload is built once per (topic, qos, props) and the payload is written after it.
import { varintSize, writeVarint } from './framer.js'
import { PacketType } from './packets.js'
import { propertiesSize, writeProperties, writeString, type Properties } from './properties.js'

export const PINGRESP = Buffer.from([0xd0, 0x00])

function packet(type: number, flags: number, bodySize: number): [Buffer, number] {
  const buf = Buffer.allocUnsafe(1 + varintSize(bodySize) + bodySize)
  buf[0] = (type << 4) | flags
  return [buf, writeVarint(buf, 1, bodySize)]
}

function propsPart(v5: boolean, props: Properties | undefined): number {
  if (!v5) return 0
  const n = props === undefined ? 0 : propertiesSize(props)
  return varintSize(n) + n
}

export function connack(v5: boolean, sessionPresent: boolean, code: number, props?: Properties): Buffer {
  const [buf, p] = packet(PacketType.CONNACK, 0, 2 + propsPart(v5, props))
  buf[p] = sessionPresent ? 1 : 0
  buf[p + 1] = code
  if (v5) writeProperties(buf, p + 2, props ?? {})
  return buf
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP; 5.0 omits reason and properties when the reason is 0 and there are none. */
export function ack(type: number, v5: boolean, packetId: number, reason = 0, props?: Properties): Buffer {
  const flags = type === PacketType.PUBREL ? 2 : 0
  const withProps = v5 && props !== undefined && propertiesSize(props) > 0
  const withReason = v5 && (reason !== 0 || withProps)
  const [buf, p] = packet(type, flags, 2 + (withReason ? 1 : 0) + (withProps ? propsPart(true, props) : 0))
  buf.writeUInt16BE(packetId, p)
  if (withReason) buf[p + 2] = reason
  if (withProps) writeProperties(buf, p + 3, props as Properties)
  return buf
}

export function suback(v5: boolean, packetId: number, codes: number[], props?: Properties): Buffer {
  const [buf, p] = packet(PacketType.SUBACK, 0, 2 + propsPart(v5, props) + codes.length)
  buf.writeUInt16BE(packetId, p)
  let q = v5 ? writeProperties(buf, p + 2, props ?? {}) : p + 2
  for (const c of codes) buf[q++] = c
  return buf
}

/** 3.1.1 UNSUBACK has no reason codes; 5.0 has one per filter. */
export function unsuback(v5: boolean, packetId: number, codes: number[]): Buffer {
  const [buf, p] = packet(PacketType.UNSUBACK, 0, 2 + (v5 ? 1 + codes.length : 0))
  buf.writeUInt16BE(packetId, p)
  if (v5) {
    buf[p + 2] = 0
    for (let i = 0; i < codes.length; i++) buf[p + 3 + i] = codes[i] as number
  }
  return buf
}

export function disconnect(reason: number, props?: Properties): Buffer {
  const [buf, p] = packet(PacketType.DISCONNECT, 0, 1 + propsPart(true, props))
  buf[p] = reason
  writeProperties(buf, p + 1, props ?? {})
  return buf
}

/**
 * PUBLISH up to (not including) the payload: fixed header, topic, packet id (0 = none, QoS 0) and
 * 5.0 properties. `topic` is the encoded topic name.
 */
export function publishHead(v5: boolean, topic: Buffer, qos: number, retain: boolean, dup: boolean, packetId: number, props: Properties | undefined, payloadLength: number): Buffer {
  const propsSize = v5 ? (props === undefined ? 0 : propertiesSize(props)) : 0
  const body = 2 + topic.length + (qos > 0 ? 2 : 0) + (v5 ? varintSize(propsSize) + propsSize : 0) + payloadLength
  const headSize = 1 + varintSize(body) + body - payloadLength
  const buf = Buffer.allocUnsafe(headSize)
  buf[0] = (PacketType.PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0)
  let p = writeVarint(buf, 1, body)
  p = buf.writeUInt16BE(topic.length, p)
  p += topic.copy(buf, p)
  if (qos > 0) p = buf.writeUInt16BE(packetId, p)
  if (v5) writeProperties(buf, p, props ?? {}, propsSize)
  return buf
}

export { writeString }
