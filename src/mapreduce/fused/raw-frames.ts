// Per-reduce-partition builders of raw shuffle frames (record-frames.ts) for the fused map sides: each
// partition's records are appended to a growing buffer, handed to the map output as a ~1 MB frame.
import type { MapOutputWriter } from '../shuffle-store.js'

const FRAME_BYTES = 1 << 20

export class RawFrameBuilders {
  readonly #writer: MapOutputWriter
  readonly #header: number
  readonly #flushAboveBytes: number
  readonly #bufs: Buffer[]
  /** Bytes used in each partition's buffer (4 = the empty frame's length word). */
  readonly #lens: number[]

  /** `header` is the frame kind bit(s) added to the body length in the frame's length word. */
  constructor(writer: MapOutputWriter, partitions: number, header: number, flushAboveBytes: number) {
    this.#writer = writer
    this.#header = header
    this.#flushAboveBytes = flushAboveBytes
    this.#bufs = Array.from({ length: partitions }, () => Buffer.allocUnsafe(1 << 16))
    this.#lens = Array.from({ length: partitions }, () => 4)
  }

  /** The buffer of partition `r` with room for `need` more bytes; write them at `offset(r)`, then call `advance`. */
  reserve(r: number, need: number): Buffer {
    const b = this.#bufs[r] as Buffer
    const len = this.#lens[r] as number
    if (len + need <= b.length) return b
    const bigger = Buffer.allocUnsafe(Math.max(b.length * 2, len + need))
    b.copy(bigger, 0, 0, len)
    this.#bufs[r] = bigger
    return bigger
  }

  offset(r: number): number {
    return this.#lens[r] as number
  }

  /** Marks `n` reserved bytes of partition `r` written; a frame that reached ~1 MB goes out. */
  advance(r: number, n: number): void {
    const len = (this.#lens[r] as number) + n
    this.#lens[r] = len
    if (len >= FRAME_BYTES) this.#emit(r)
  }

  /** Hands out every partition's pending records. */
  finish(): void {
    for (let r = 0; r < this.#bufs.length; r++) if ((this.#lens[r] as number) > 4) this.#emit(r)
  }

  #emit(r: number): void {
    const b = this.#bufs[r] as Buffer
    const len = this.#lens[r] as number
    b.writeUInt32LE(len - 4 + this.#header, 0)
    // (Buffer.from(view) would copy byte by byte through the array-like path.)
    const frame = Buffer.allocUnsafe(len)
    b.copy(frame, 0, 0, len)
    this.#writer.append(r, frame)
    this.#lens[r] = 4
    if (this.#writer.bufferedBytes > this.#flushAboveBytes) this.#writer.flush()
  }
}
