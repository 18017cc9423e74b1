// MQTT 5 properties (section 2.2.2): decoded into one flat object, checked against the packet
// they arrive in (a property not allowed there, or given twice, is a Protocol Error), and encoded
// for the packets this broker sends.
import { isUtf8 } from 'node:buffer'
import { Reason, malformed, protocolError } from './errors.js'
import { varintSize, writeVarint } from './framer.js'

export interface Properties {
  payloadFormat?: number
  messageExpiry?: number
  contentType?: string
  responseTopic?: string
  correlationData?: Buffer
  subscriptionIds?: number[]
  sessionExpiry?: number
  assignedClientId?: string
  serverKeepAlive?: number
  authMethod?: string
  authData?: Buffer
  requestProblemInfo?: number
  willDelay?: number
  requestResponseInfo?: number
  responseInfo?: string
  serverReference?: string
  reasonString?: string
  receiveMaximum?: number
  topicAliasMaximum?: number
  topicAlias?: number
  maximumQos?: number
  retainAvailable?: number
  userProperties?: [string, string][]
  maximumPacketSize?: number
  wildcardAvailable?: number
  subscriptionIdsAvailable?: number
  sharedAvailable?: number
}

/** Where a property list is read: each id is allowed in some of these only. */
export const PropCtx = {
  CONNECT: 1,
  WILL: 2,
  PUBLISH: 4,
  ACK: 8,
  SUBSCRIBE: 16,
  UNSUBSCRIBE: 32,
  DISCONNECT: 64,
  AUTH: 128,
} as const

type Kind = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair'

const C = PropCtx
/** id → [field, wire type, contexts a client may send it in]. */
const TABLE: Record<number, [keyof Properties, Kind, number]> = {
  0x01: ['payloadFormat', 'byte', C.PUBLISH | C.WILL],
  0x02: ['messageExpiry', 'u32', C.PUBLISH | C.WILL],
  0x03: ['contentType', 'utf8', C.PUBLISH | C.WILL],
  0x08: ['responseTopic', 'utf8', C.PUBLISH | C.WILL],
  0x09: ['correlationData', 'binary', C.PUBLISH | C.WILL],
  0x0b: ['subscriptionIds', 'varint', C.SUBSCRIBE],
  0x11: ['sessionExpiry', 'u32', C.CONNECT | C.DISCONNECT],
  0x12: ['assignedClientId', 'utf8', 0],
  0x13: ['serverKeepAlive', 'u16', 0],
  0x15: ['authMethod', 'utf8', C.CONNECT | C.AUTH],
  0x16: ['authData', 'binary', C.CONNECT | C.AUTH],
  0x17: ['requestProblemInfo', 'byte', C.CONNECT],
  0x18: ['willDelay', 'u32', C.WILL],
  0x19: ['requestResponseInfo', 'byte', C.CONNECT],
  0x1a: ['responseInfo', 'utf8', 0],
  0x1c: ['serverReference', 'utf8', C.DISCONNECT],
  0x1f: ['reasonString', 'utf8', C.ACK | C.DISCONNECT | C.AUTH],
  0x21: ['receiveMaximum', 'u16', C.CONNECT],
  0x22: ['topicAliasMaximum', 'u16', C.CONNECT],
  0x23: ['topicAlias', 'u16', C.PUBLISH],
  0x24: ['maximumQos', 'byte', 0],
  0x25: ['retainAvailable', 'byte', 0],
  0x26: ['userProperties', 'pair', C.CONNECT | C.WILL | C.PUBLISH | C.ACK | C.SUBSCRIBE | C.UNSUBSCRIBE | C.DISCONNECT | C.AUTH],
  0x27: ['maximumPacketSize', 'u32', C.CONNECT],
  0x28: ['wildcardAvailable', 'byte', 0],
  0x29: ['subscriptionIdsAvailable', 'byte', 0],
  0x2a: ['sharedAvailable', 'byte', 0],
}
const ID_OF = new Map<keyof Properties, number>(Object.entries(TABLE).map(([id, [name]]) => [name, Number(id)]))

/** Reads MQTT data types from a packet body; every read is bounds-checked (Malformed Packet). */
export class Reader {
  readonly buf: Buffer
  pos: number
  readonly end: number

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  get left(): number {
    return this.end - this.pos
  }

  #need(n: number, what: string): void {
    if (this.end - this.pos < n) throw malformed(`Cannot read ${what}: packet ends early`)
  }

  u8(what = 'byte'): number {
    this.#need(1, what)
    return this.buf[this.pos++] as number
  }

  u16(what = 'two-byte integer'): number {
    this.#need(2, what)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  u32(what = 'four-byte integer'): number {
    this.#need(4, what)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  varint(what = 'variable byte integer'): number {
    let v = 0
    let mul = 1
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what)
      v += (b & 0x7f) * mul
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw malformed(`Cannot read ${what}: not minimally encoded`)
        return v
      }
      mul *= 128
    }
    throw malformed(`Cannot read ${what}: more than 4 bytes`)
  }

  binary(what = 'binary data'): Buffer {
    const n = this.u16(what)
    this.#need(n, what)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** A UTF-8 string: well-formed, no U+0000 (MQTT-1.5.4-1/2), else Malformed Packet. */
  utf8(what = 'string'): string {
    const b = this.binary(what)
    return decodeUtf8(b, what)
  }
}

export function decodeUtf8(b: Buffer, what: string): string {
  let ascii = true
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number
    if (c === 0) throw malformed(`Cannot read ${what}: contains U+0000`)
    if (c >= 0x80) ascii = false
  }
  if (!ascii && !isUtf8(b)) throw malformed(`Cannot read ${what}: not valid UTF-8`)
  return b.toString(ascii ? 'latin1' : 'utf8')
}

/** Reads a property list (length prefix included) allowed in `ctx`. */
export function readProperties(r: Reader, ctx: number): Properties {
  const len = r.varint('property length')
  if (len === 0) return {}
  if (len > r.left) throw malformed('Cannot read properties: length exceeds the packet')
  const end = r.pos + len
  const sub = new Reader(r.buf, r.pos, end)
  r.pos = end
  const out: Properties = {}
  const o = out as Record<string, unknown>
  while (sub.left > 0) {
    const id = sub.varint('property id')
    const entry = TABLE[id]
    if (entry === undefined) throw malformed(`Cannot read properties: unknown property id 0x${id.toString(16)}`)
    const [name, kind, allowed] = entry
    if ((allowed & ctx) === 0) throw protocolError(`Cannot accept property ${name} in this packet`)
    let value: unknown
    switch (kind) {
      case 'byte':
        value = sub.u8(name)
        break
      case 'u16':
        value = sub.u16(name)
        break
      case 'u32':
        value = sub.u32(name)
        break
      case 'varint':
        value = sub.varint(name)
        break
      case 'utf8':
        value = sub.utf8(name)
        break
      case 'binary':
        value = sub.binary(name)
        break
      case 'pair':
        value = [sub.utf8('user property name'), sub.utf8('user property value')]
        break
    }
    if (name === 'userProperties') {
      ;(out.userProperties ??= []).push(value as [string, string])
      continue
    }
    if (name === 'subscriptionIds') {
      if (out.subscriptionIds !== undefined) throw protocolError('Cannot accept more than one subscription identifier in SUBSCRIBE')
      if (value === 0) throw protocolError('Cannot accept subscription identifier 0')
      out.subscriptionIds = [value as number]
      continue
    }
    if (o[name] !== undefined) throw protocolError(`Cannot accept property ${name} twice`)
    o[name] = value
  }
  checkValues(out)
  return out
}

function checkValues(p: Properties): void {
  if (p.payloadFormat !== undefined && p.payloadFormat > 1) throw protocolError(`Cannot accept payload format indicator ${p.payloadFormat}`)
  if (p.requestProblemInfo !== undefined && p.requestProblemInfo > 1) throw protocolError(`Cannot accept request problem information ${p.requestProblemInfo}`)
  if (p.requestResponseInfo !== undefined && p.requestResponseInfo > 1) throw protocolError(`Cannot accept request response information ${p.requestResponseInfo}`)
  if (p.receiveMaximum === 0) throw protocolError('Cannot accept receive maximum 0')
  if (p.maximumPacketSize === 0) throw protocolError('Cannot accept maximum packet size 0')
  if (p.topicAlias === 0) throw protocolError('Cannot accept topic alias 0', Reason.TOPIC_ALIAS_INVALID)
}

/** Size of an encoded property list, without its length prefix. */
export function propertiesSize(p: Properties): number {
  let n = 0
  for (const [name, value] of Object.entries(p) as [keyof Properties, unknown][]) {
    if (value === undefined) continue
    const id = ID_OF.get(name) as number
    const kind = (TABLE[id] as [keyof Properties, Kind, number])[1]
    if (name === 'userProperties') {
      for (const [k, v] of value as [string, string][]) n += 1 + 4 + Buffer.byteLength(k) + Buffer.byteLength(v)
      continue
    }
    if (name === 'subscriptionIds') {
      for (const s of value as number[]) n += 1 + varintSize(s)
      continue
    }
    n += 1 + valueSize(kind, value)
  }
  return n
}

function valueSize(kind: Kind, value: unknown): number {
  switch (kind) {
    case 'byte':
      return 1
    case 'u16':
      return 2
    case 'u32':
      return 4
    case 'varint':
      return varintSize(value as number)
    case 'utf8':
      return 2 + Buffer.byteLength(value as string)
    case 'binary':
      return 2 + (value as Buffer).length
    default:
      return 0
  }
}

/** Writes the property list (length prefix included) at `p`; returns the next position. */
export function writeProperties(buf: Buffer, p: number, props: Properties, size = propertiesSize(props)): number {
  p = writeVarint(buf, p, size)
  for (const [name, value] of Object.entries(props) as [keyof Properties, unknown][]) {
    if (value === undefined) continue
    const id = ID_OF.get(name) as number
    const kind = (TABLE[id] as [keyof Properties, Kind, number])[1]
    if (name === 'userProperties') {
      for (const [k, v] of value as [string, string][]) {
        buf[p++] = id
        p = writeString(buf, p, k)
        p = writeString(buf, p, v)
      }
      continue
    }
    if (name === 'subscriptionIds') {
      for (const s of value as number[]) {
        buf[p++] = id
        p = writeVarint(buf, p, s)
      }
      continue
    }
    buf[p++] = id
    switch (kind) {
      case 'byte':
        buf[p++] = value as number
        break
      case 'u16':
        p = buf.writeUInt16BE(value as number, p)
        break
      case 'u32':
        p = buf.writeUInt32BE(value as number, p)
        break
      case 'varint':
        p = writeVarint(buf, p, value as number)
        break
      case 'utf8':
        p = writeString(buf, p, value as string)
        break
      case 'binary':
        p = buf.writeUInt16BE((value as Buffer).length, p)
        p += (value as Buffer).copy(buf, p)
        break
      default:
        break
    }
  }
  return p
}

export function writeString(buf: Buffer, p: number, s: string): number {
  const n = buf.write(s, p + 2, 'utf8')
  buf.writeUInt16BE(n, p)
  return p + 2 + n
}
