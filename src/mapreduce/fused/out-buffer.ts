// Output of the fused reduce sides: lines assembled in one reused 1 MiB buffer per process and
// written to the part file with large synchronous writes.
import { writeSync } from 'node:fs'

let shared: Buffer | null = null

export class OutBuffer {
  readonly buf: Buffer = (shared ??= Buffer.allocUnsafe(1 << 20))
  /** Bytes pending in `buf`. */
  len = 0
  readonly #fd: number

  constructor(fd: number) {
    this.#fd = fd
  }

  /** Makes room for `n` more bytes (flushing); false when `n` exceeds the buffer (write those bytes with `direct`). */
  room(n: number): boolean {
    if (this.len + n <= this.buf.length) return true
    this.flush()
    return n <= this.buf.length
  }

  /** Writes `bytes` straight to the file, after what is pending. */
  direct(bytes: Uint8Array): void {
    this.flush()
    let off = 0
    while (off < bytes.length) off += writeSync(this.#fd, bytes, off, bytes.length - off)
  }

  flush(): void {
    let off = 0
    while (off < this.len) off += writeSync(this.#fd, this.buf, off, this.len - off)
    this.len = 0
  }
}
