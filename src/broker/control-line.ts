// An op's argument line (the bytes between the op name and LF): carried across socket chunks up
// to max_control_line, handed to the parser as a string or as a byte range, and decoded.
import { CR, EMPTY, SPACE, TAB } from './parser-states.js'

/** One argument line at a time; the parser owns one and reuses it for every op. */
export class ControlLine {
  /** Where the line starts in the current chunk. */
  start = 0
  /** Bytes of the line carried over from earlier chunks. */
  #buf: Buffer | undefined
  #len = 0
  /** Byte range set by range(). */
  bytes: Buffer = EMPTY
  from = 0
  to = 0
  readonly #maxControlLine: number

  constructor(maxControlLine: number) {
    this.#maxControlLine = maxControlLine
  }

  /** Line length so far, including carried-over bytes. */
  lengthAt(i: number): number {
    return this.#len + (i - this.start)
  }

  /** The line (without CR/LF), joining carried-over bytes. */
  text(buf: Buffer, end: number): string {
    let e = end
    if (e > this.start && buf[e - 1] === CR) e--
    if (this.#buf === undefined) return buf.toString('utf8', this.start, e)
    let tail = buf.subarray(this.start, e)
    let joined = Buffer.concat([this.#buf.subarray(0, this.#len), tail])
    // A CR at the very end of the previous chunk.
    if (tail.length === 0 && joined.length > 0 && joined[joined.length - 1] === CR) joined = joined.subarray(0, joined.length - 1)
    this.#buf = undefined
    this.#len = 0
    tail = EMPTY
    return joined.toString('utf8')
  }

  /** Sets bytes/from/to to the line (joining carried-over bytes), CR/LF excluded. */
  range(buf: Buffer, end: number): void {
    if (this.#buf === undefined) {
      let e = end
      if (e > this.start && buf[e - 1] === CR) e--
      this.bytes = buf
      this.from = this.start
      this.to = e
      return
    }
    let joined = Buffer.concat([this.#buf.subarray(0, this.#len), buf.subarray(this.start, end)])
    if (joined.length > 0 && joined[joined.length - 1] === CR) joined = joined.subarray(0, joined.length - 1)
    this.#buf = undefined
    this.#len = 0
    this.bytes = joined
    this.from = 0
    this.to = joined.length
  }

  /** The range set by range(), JSON-quoted for error messages. */
  quoted(): string {
    return JSON.stringify(this.bytes.toString('utf8', this.from, this.to))
  }

  /** Forgets carried-over bytes (a finished line that was ignored, or a dead parser). */
  drop(): void {
    this.#buf = undefined
    this.#len = 0
  }

  /** Keeps the unfinished line at the end of a chunk for the next one; false when it exceeds max_control_line. */
  carry(buf: Buffer, n: number): boolean {
    const part = n - this.start
    const total = this.#len + part
    if (total > this.#maxControlLine) return false
    if (this.#buf === undefined) this.#buf = Buffer.allocUnsafe(Math.min(this.#maxControlLine + 2, Math.max(256, total * 2)))
    else if (this.#buf.length < total) {
      const bigger = Buffer.allocUnsafe(Math.min(this.#maxControlLine + 2, total * 2))
      this.#buf.copy(bigger, 0, 0, this.#len)
      this.#buf = bigger
    }
    buf.copy(this.#buf, this.#len, this.start, n)
    this.#len = total
    this.start = 0
    return true
  }
}

/** Splits an argument line on runs of spaces/tabs. */
export function splitArgs(line: string): string[] {
  const out: string[] = []
  let start = -1
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i)
    if (c === SPACE || c === TAB) {
      if (start >= 0) {
        out.push(line.slice(start, i))
        start = -1
      }
    } else if (start < 0) start = i
  }
  if (start >= 0) out.push(line.slice(start))
  return out
}

/** Parses a protocol byte count or count (plain decimal digits); -1 when it is not one. Human sizes such as "64MB" are config.ts's parseSize. */
export function parseDecimal(s: string): number {
  if (s.length === 0 || s.length > 15) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}
