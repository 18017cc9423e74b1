// Packets built once and shared by every subscriber of a fan-out (MQTT and RESP front-ends) are
// carved one after another from a slab instead of allocated one by one: one allocation per slab,
// and consecutive packets are adjacent in memory, so a subscriber's queue joins them into one
// chunk per write (outbound.ts, `slice`). A slab region is written once and never reused; a slab
// lives while any view of it is queued, as the packets it holds would.

/** A packet shared by a fan-out: its bytes, and where they lie in their slab (Outbound.slice). */
export interface SharedPacket {
  whole: Buffer
  base: Buffer
  start: number
}

/** Bytes per slab. */
const SLAB_BYTES = 256 * 1024

export class Slab {
  #buf: Buffer = Buffer.alloc(0)
  #pos = 0
  /** The buffer and offset of the last `take` (queue them with Outbound.slice). */
  base: Buffer = this.#buf
  start = 0

  /** `n` fresh bytes for the caller to fill once; large requests get a buffer of their own. */
  take(n: number): Buffer {
    if (n > SLAB_BYTES / 4) {
      const own = Buffer.allocUnsafeSlow(n)
      this.base = own
      this.start = 0
      return own
    }
    if (this.#buf.length - this.#pos < n) {
      this.#buf = Buffer.allocUnsafeSlow(SLAB_BYTES)
      this.#pos = 0
    }
    const start = this.#pos
    // Unpadded: the next packet starts where this one ends.
    this.#pos = start + n
    this.base = this.#buf
    this.start = start
    return this.#buf.subarray(start, start + n)
  }
}
