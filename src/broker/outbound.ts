// A connection's outbound queue: protocol bytes and messages are copied into a buffer sized to the
// traffic (large payloads are queued as views, not copied), sealed into chunks, and handed to the
// transport once per event-loop turn in bounded writes. The client decides what goes in and when a
// peer is too slow; this holds the bytes and counts them.
import type { Transport } from './transport.js'

/** Payloads at least this large are queued as views instead of being copied. */
export const BIG_PAYLOAD = 8 * 1024
const MIN_OUT = 1024
const MAX_OUT = 256 * 1024
/** Bytes per transport write while it keeps up (see flush). */
const MAX_WRITE = 1024 * 1024

export class Outbound {
  /** Bytes queued here and not yet handed to the transport. */
  queued = 0
  /** Transport backlog as of the last flush; it only shrinks until the next one, so this is conservative. */
  transportPending = 0
  #out: Buffer | undefined
  #outStart = 0
  #outPos = 0
  #nextOutSize = MIN_OUT
  #chunks: Buffer[] = []
  /**
   * Slices of one buffer queued back to back that are adjacent in it (consecutive packets carved
   * from one slab, slab.ts) are kept as one run and queued as one chunk: a writev then walks one
   * entry per slab instead of one per packet. While a run is open nothing is copied into #out.
   * Adjacency is judged by the base buffer's identity and offsets, never by `.buffer` (a runtime
   * call per access in V8).
   */
  #run: Buffer | undefined
  #runStart = 0
  #runEnd = 0
  /**
   * A buffer that filled up during a turn (a turn bigger than MAX_OUT needs two): once a flush has
   * seen a TCP socket take every byte (nothing pending), nothing refers to it any more and the next
   * turn that outgrows its buffer takes it again instead of a fresh one. Busy connections then
   * rotate two buffers instead of allocating one per turn (external memory, GC).
   */
  #spare: Buffer | undefined
  #spareFree = false
  /** The last flush went to a plain TCP socket (the only transport whose completed writes hold no views). */
  #reuse = false

  /** Whether anything waits here for a flush. */
  get hasChunks(): boolean {
    return this.#chunks.length > 0 || this.#run !== undefined
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this.#chunks = []
    this.#run = undefined
    this.#out = undefined
    this.#spare = undefined
    this.queued = 0
  }

  #reserve(n: number): Buffer {
    if (this.#run !== undefined) this.#sealRun()
    const out = this.#out
    if (out !== undefined && out.length - this.#outPos >= n) return out
    this.#seal()
    const size = Math.max(n, this.#nextOutSize)
    const spare = this.#spare
    if (spare !== undefined && this.#spareFree && spare.length >= size) {
      // The full buffer's bytes wait for this turn's flush: it is the spare now, not yet free.
      this.#spare = out
      this.#spareFree = false
      this.#out = spare
      this.#outStart = 0
      this.#outPos = 0
      return spare
    }
    if (out !== undefined && this.#reuse) {
      this.#spare = out
      this.#spareFree = false
    }
    const fresh = Buffer.allocUnsafeSlow(size)
    this.#out = fresh
    this.#outStart = 0
    this.#outPos = 0
    return fresh
  }

  #sealRun(): void {
    const run = this.#run as Buffer
    this.#chunks.push(this.#runStart === 0 && this.#runEnd === run.length ? run : run.subarray(this.#runStart, this.#runEnd))
    this.#run = undefined
  }

  #seal(): void {
    // An open run and unsealed bytes in #out never coexist (#reserve closes the run first).
    if (this.#run !== undefined) this.#sealRun()
    if (this.#out !== undefined && this.#outPos > this.#outStart) {
      this.#chunks.push(this.#out.subarray(this.#outStart, this.#outPos))
      this.#outStart = this.#outPos
    }
  }

  /** Queues raw protocol bytes (INFO, PONG, -ERR ...). */
  raw(bytes: Buffer): void {
    const out = this.#reserve(bytes.length)
    out.set(bytes, this.#outPos)
    this.#outPos += bytes.length
    this.queued += bytes.length
  }

  /**
   * Queues bytes `start`..`end` of `base` as a view, not copied: the caller guarantees they are
   * never modified afterwards (a message built once and shared by every subscriber of a fan-out).
   * A slice that continues the previous one in the same `base` joins it.
   */
  slice(base: Buffer, start: number, end: number): void {
    this.queued += end - start
    if (this.#run !== undefined) {
      if (base === this.#run && start === this.#runEnd) {
        this.#runEnd = end
        return
      }
      this.#sealRun()
    } else this.#seal()
    this.#run = base
    this.#runStart = start
    this.#runEnd = end
  }

  /**
   * Queues one message in a single reservation: `head` and `mid` copied, `body` copied when small
   * and queued as a view when large, then `tail` (`tail` empty: CRLF). Returns the bytes queued.
   */
  message(head: Buffer, mid: Buffer, post: Buffer, body: Buffer, tail: Buffer | undefined, viewFrom = BIG_PAYLOAD): number {
    const front = head.length + mid.length + post.length
    const end = tail === undefined ? 2 : tail.length
    const size = front + body.length + end
    if (body.length >= viewFrom) {
      let out = this.#reserve(front)
      let p = copyInto(head, out, this.#outPos)
      p = copyInto(mid, out, p)
      this.#outPos = copyInto(post, out, p)
      this.#seal()
      this.#chunks.push(body)
      out = this.#reserve(end)
      this.#outPos = tail === undefined ? crlf(out, this.#outPos) : copyInto(tail, out, this.#outPos)
    } else {
      const out = this.#reserve(size)
      let p = copyInto(head, out, this.#outPos)
      p = copyInto(mid, out, p)
      p = copyInto(post, out, p)
      p = copyInto(body, out, p)
      this.#outPos = tail === undefined ? crlf(out, p) : copyInto(tail, out, p)
    }
    this.queued += size
    return size
  }

  /**
   * Hands what is queued to `t`: in writes of about MAX_WRITE bytes while the transport keeps up;
   * the rest stays here until 'drain'. Bounded writes keep the transport's completions (the write
   * deadline's sign of progress) frequent: Node reports a write done only when all of it reached
   * the kernel. `force` hands everything (closing). Returns the bytes written.
   */
  flush(t: Transport, force: boolean): number {
    this.#seal()
    const chunks = this.#chunks
    let i = 0
    let written = 0
    while (i < chunks.length && (force || t.canWrite)) {
      let j = i
      let n = 0
      while (j < chunks.length && (force || n < MAX_WRITE)) n += (chunks[j++] as Buffer).length
      t.write(i === 0 && j === chunks.length ? chunks : chunks.slice(i, j))
      written += n
      i = j
    }
    if (written === 0) return 0
    this.#chunks = i === chunks.length ? [] : chunks.slice(i)
    this.queued -= written
    // Adapt the next buffer to the traffic: small for idle connections, larger for busy ones.
    this.#nextOutSize = Math.min(MAX_OUT, Math.max(MIN_OUT, written * 2))
    // A plain TCP socket that took everything synchronously has copied it into the kernel: nothing
    // refers to this buffer's bytes any more, so the next turn starts at its beginning instead of on
    // a fresh allocation (fresh memory costs page faults and GC). Anything still pending, and TLS
    // and WebSocket transports, may hold views of it: then it is left alone.
    if (i === chunks.length && t.kind === 'tcp' && t.pendingBytes === 0) {
      if (this.#out !== undefined) {
        this.#outStart = 0
        this.#outPos = 0
      }
      // Every byte handed over so far is written, the spare's included.
      if (this.#spare !== undefined) this.#spareFree = true
    }
    this.#reuse = t.kind === 'tcp'
    // A turn that one buffer holds again: the spare goes (idle connections keep no second buffer).
    if (this.#spare !== undefined && written < this.#spare.length) this.#spare = undefined
    // Start the next turn on a buffer big enough for it, so a flush is usually one chunk (no writev).
    if (this.#out !== undefined && this.#out.length - this.#outPos < this.#nextOutSize) this.#out = undefined
    this.transportPending = t.pendingBytes
    return written
  }
}

/** Copies `src` into `dst` at `p`; a byte loop for the short pieces (sids, prefixes) beats a native call. */
function copyInto(src: Buffer, dst: Buffer, p: number): number {
  const n = src.length
  if (n < 32) {
    for (let i = 0; i < n; i++) dst[p + i] = src[i] as number
  } else dst.set(src, p)
  return p + n
}

function crlf(dst: Buffer, p: number): number {
  dst[p] = 13
  dst[p + 1] = 10
  return p + 2
}
