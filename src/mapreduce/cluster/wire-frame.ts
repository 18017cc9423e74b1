// Frame codec for every cluster socket: [u32 length][u32 crc32 of payload][payload], big endian.
// The decoder is a plain class fed socket chunks; a frame inside one chunk is handed out as a
// subarray view, a frame spanning chunks is assembled into one copy. It owns no socket.
import { crc32 } from 'node:zlib'
import { ClusterError, ClusterErrorCodes } from './errors.js'

export const FRAME_HEADER_BYTES = 8

/** Returns header + payload as two buffers, so large payloads are never copied. */
export function encodeFrame(payload: Uint8Array): [Buffer, Uint8Array] {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt32BE(payload.length, 0)
  header.writeUInt32BE(crc32(payload), 4)
  return [header, payload]
}

/** A frame whose payload is `payload` followed by `mac` (after authentication), without copying either. */
export function encodeSealedFrame(payload: Uint8Array, mac: Uint8Array): [Buffer, Uint8Array, Uint8Array] {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt32BE(payload.length + mac.length, 0)
  header.writeUInt32BE(crc32(mac, crc32(payload)), 4)
  return [header, payload, mac]
}

/** One buffer with header and payload, for tests and small messages. */
export function encodeFrameConcat(payload: Uint8Array): Buffer {
  const [h, p] = encodeFrame(payload)
  return Buffer.concat([h, p])
}

const State = { HEADER: 0, PAYLOAD: 1 } as const
type StateValue = (typeof State)[keyof typeof State]

export class FrameDecoder {
  /** Largest payload accepted; may be raised after authentication. */
  maxPayloadBytes: number
  readonly #onFrame: (payload: Buffer) => void
  #state: StateValue = State.HEADER
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES)
  #headerFill = 0
  #length = 0
  #crc = 0
  #body: Buffer | undefined
  #bodyFill = 0
  #failed = false

  constructor(maxPayloadBytes: number, onFrame: (payload: Buffer) => void) {
    this.maxPayloadBytes = maxPayloadBytes
    this.#onFrame = onFrame
  }

  /** Feeds one chunk; calls onFrame for each complete frame. Throws ClusterError on a bad frame. */
  push(chunk: Buffer): void {
    if (this.#failed) return
    let pos = 0
    const n = chunk.length
    while (pos < n) {
      if (this.#state === State.HEADER) {
        // Fast path: a whole header available in this chunk.
        if (this.#headerFill === 0 && n - pos >= FRAME_HEADER_BYTES) {
          this.#length = chunk.readUInt32BE(pos)
          this.#crc = chunk.readUInt32BE(pos + 4)
          pos += FRAME_HEADER_BYTES
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, n - pos)
          chunk.copy(this.#header, this.#headerFill, pos, pos + take)
          this.#headerFill += take
          pos += take
          if (this.#headerFill < FRAME_HEADER_BYTES) return
          this.#headerFill = 0
          this.#length = this.#header.readUInt32BE(0)
          this.#crc = this.#header.readUInt32BE(4)
        }
        if (this.#length > this.maxPayloadBytes) {
          this.#failed = true
          throw new ClusterError(
            ClusterErrorCodes.FRAME_TOO_LARGE,
            `Cannot accept frame: size ${this.#length} exceeds the limit ${this.maxPayloadBytes}`,
          )
        }
        this.#state = State.PAYLOAD
        // Whole payload in this chunk: hand out a view, no copy.
        if (n - pos >= this.#length) {
          const payload = chunk.subarray(pos, pos + this.#length)
          pos += this.#length
          this.#state = State.HEADER
          this.#emit(payload)
          continue
        }
        this.#body = Buffer.allocUnsafe(this.#length)
        this.#bodyFill = 0
      }
      const body = this.#body as Buffer
      const take = Math.min(this.#length - this.#bodyFill, n - pos)
      chunk.copy(body, this.#bodyFill, pos, pos + take)
      this.#bodyFill += take
      pos += take
      if (this.#bodyFill === this.#length) {
        this.#body = undefined
        this.#state = State.HEADER
        this.#emit(body)
      }
    }
  }

  /** Bytes of a partial frame held; 0 between frames. */
  get pendingBytes(): number {
    return this.#state === State.HEADER ? this.#headerFill : FRAME_HEADER_BYTES + this.#bodyFill
  }

  #emit(payload: Buffer): void {
    if (crc32(payload) !== this.#crc) {
      this.#failed = true
      throw new ClusterError(ClusterErrorCodes.FRAME_CHECKSUM, `Cannot accept frame: checksum mismatch on a ${payload.length}-byte payload`)
    }
    this.#onFrame(payload)
  }
}
