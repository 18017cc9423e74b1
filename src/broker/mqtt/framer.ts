// MQTT fixed-header framing: fed socket chunks, hands out one complete packet at a time (type,
// flags, body). A body that lies inside one chunk is a view of it; one that spans chunks is
// copied once into a buffer of its announced size. No I/O, no timers; bad framing throws MqttError.
import { MqttError, MqttErrorCodes, Reason, malformed } from './errors.js'

export interface FrameSink {
  onPacket(type: number, flags: number, body: Buffer): void
}

export class MqttFramer {
  readonly #sink: FrameSink
  /** Largest remaining length accepted (MQTT 5 Maximum Packet Size minus the fixed header). */
  maxBodyBytes: number
  /** Bytes of the fixed header read so far (type byte + length bytes); 0 between packets. */
  #hdr = 0
  #first = 0
  #len = 0
  #mul = 1
  #body: Buffer | undefined
  #have = 0
  /** False after a throw or stop(): later input is ignored. */
  #live = true

  constructor(sink: FrameSink, maxBodyBytes: number) {
    this.#sink = sink
    this.maxBodyBytes = maxBodyBytes
  }

  #suspended = false
  #rest: Buffer | undefined

  /** Stops handing out packets (the connection is closing); the rest of the current chunk is dropped. */
  stop(): void {
    this.#live = false
  }

  /** Stops after the current packet and keeps the rest of the chunk (CONNECT awaiting a password check). */
  suspend(): void {
    this.#live = false
    this.#suspended = true
  }

  /** Undoes suspend(); returns the bytes that were left unread, to be pushed again. */
  resume(): Buffer | undefined {
    this.#live = true
    this.#suspended = false
    const rest = this.#rest
    this.#rest = undefined
    return rest
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const n = buf.length
    let i = 0
    while (i < n && this.#live) {
      const body = this.#body
      if (body !== undefined) {
        const take = Math.min(n - i, body.length - this.#have)
        buf.copy(body, this.#have, i, i + take)
        this.#have += take
        i += take
        if (this.#have === body.length) {
          this.#body = undefined
          this.#emit(body)
        }
        continue
      }
      const b = buf[i++] as number
      if (this.#hdr === 0) {
        this.#first = b
        this.#hdr = 1
        this.#len = 0
        this.#mul = 1
        continue
      }
      this.#len += (b & 0x7f) * this.#mul
      this.#mul *= 128
      this.#hdr++
      if ((b & 0x80) !== 0) {
        if (this.#hdr === 5) this.#fail(malformed('Cannot read packet: remaining length has more than 4 bytes'))
        continue
      }
      if (b === 0 && this.#hdr > 2) this.#fail(malformed('Cannot read packet: remaining length is not minimally encoded'))
      const len = this.#len
      if (len > this.maxBodyBytes) {
        this.#fail(new MqttError(MqttErrorCodes.TOO_LARGE, Reason.PACKET_TOO_LARGE, `Cannot accept packet: size ${len} exceeds the maximum ${this.maxBodyBytes}`))
      }
      if (len === 0) this.#emit(EMPTY)
      else if (n - i >= len) {
        const view = buf.subarray(i, i + len)
        i += len
        this.#emit(view)
      } else {
        this.#body = Buffer.allocUnsafe(len)
        this.#have = 0
      }
    }
    if (this.#suspended && i < n) this.#rest = Buffer.from(buf.subarray(i))
  }

  #emit(body: Buffer): void {
    this.#hdr = 0
    this.#sink.onPacket(this.#first >> 4, this.#first & 0x0f, body)
  }

  #fail(err: MqttError): never {
    this.#live = false
    throw err
  }
}

const EMPTY = Buffer.alloc(0)

/** Bytes needed to encode `n` as an MQTT Variable Byte Integer. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

/** Writes `n` as a Variable Byte Integer at `p`; returns the next position. */
export function writeVarint(buf: Buffer, p: number, n: number): number {
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    buf[p++] = b
  } while (n > 0)
  return p
}
