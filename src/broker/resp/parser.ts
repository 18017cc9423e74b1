// The RESP request parser: a plain class fed socket chunks, pushing whole commands (argument
// arrays) to a sink. Multibulk requests (`*<n>\r\n$<len>\r\n<bytes>\r\n...`) and inline lines, with
// Redis's limits and error texts (networking.c processMultibulkBuffer / processInlineBuffer).
// Arguments are views of the chunk when they fit in it, copied only when they span chunks (a
// pipelined PUBLISH's repeated name and channel are handed out again as the parser's own copies,
// see #fastPublish). It owns no socket and no timer; after a protocol error it reads nothing more.
import { splitInline } from './inline.js'

export interface RespSink {
  onCommand(args: Buffer[]): void
  /** `message` is the text after `-ERR ` (e.g. `Protocol error: invalid bulk length`). */
  onProtocolError(message: string): void
  /** Before authentication Redis allows small requests only (10 arguments, 16 KiB each). */
  readonly restricted: boolean
}

export interface RespParserLimits {
  /** Longest inline line and longest length line (Redis PROTO_INLINE_MAX_SIZE). */
  maxInlineBytes: number
  /** Largest argument other than a PUBLISH payload (Redis proto-max-bulk-len). */
  maxBulkBytes: number
  /** Largest PUBLISH / SPUBLISH payload (the broker's max_payload). */
  maxPayloadBytes: number
  /** Most arguments in one request. */
  maxArgs: number
}

const State = {
  START: 0,
  INLINE: 1,
  COUNT: 2,
  BULK_LEN: 3,
  BULK: 4,
  BULK_CR: 5,
  BULK_LF: 6,
} as const
type StateValue = (typeof State)[keyof typeof State]

const UNAUTH_MAX_ARGS = 10
const UNAUTH_MAX_BULK = 16384
const EMPTY = Buffer.alloc(0)

/** A decimal integer as Redis's string2ll reads it (optional `-`, digits, no leading `+`/zeros rule). */
function readInt(line: Buffer): number | undefined {
  const n = line.length
  if (n === 0 || n > 20) return undefined
  let i = 0
  let neg = false
  if (line[0] === 45) {
    neg = true
    i = 1
    if (n === 1) return undefined
  }
  let v = 0
  for (; i < n; i++) {
    const c = line[i] as number
    if (c < 48 || c > 57) return undefined
    v = v * 10 + (c - 48)
  }
  if (!Number.isSafeInteger(v)) return undefined
  return neg ? -v : v
}

/** `publish` in ASCII; `| 32` folds an ASCII capital to lower case (and no other byte onto a letter here). */
const PUBLISH = [112, 117, 98, 108, 105, 115, 104]

/** Whether `name` from `from` on is `publish`, any case. */
function publishAt(name: Buffer, from: number): boolean {
  for (let k = 0; k < 7; k++) if (((name[from + k] as number) | 32) !== PUBLISH[k]) return false
  return true
}

/** Whether `chunk` holds the bytes of `b` at `at` (the caller knows they fit). */
function equalAt(b: Buffer, chunk: Buffer, at: number): boolean {
  for (let k = 0; k < b.length; k++) if (b[k] !== chunk[at + k]) return false
  return true
}

function isPublish(name: Buffer): boolean {
  if (name.length === 7) return publishAt(name, 0)
  return name.length === 8 && ((name[0] as number) | 32) === 115 && publishAt(name, 1)
}


export class RespParser {
  readonly #sink: RespSink
  readonly #limits: RespParserLimits
  #state: StateValue = State.START
  #line: Buffer[] = []
  #lineLen = 0
  #args: Buffer[] = []
  #count = 0
  #bulkLen = 0
  #bulk: Buffer | undefined
  #bulkGot = 0
  #stopped = false
  #suspended = false
  #rest: Buffer | undefined
  #fastEnd = 0
  #fastName: Buffer = Buffer.from('PUBLISH')
  #fastChannel: Buffer = EMPTY

  constructor(sink: RespSink, limits: RespParserLimits) {
    this.#sink = sink
    this.#limits = limits
  }

  /** Reads nothing more (after a protocol error, QUIT, or close). */
  stop(): void {
    this.#stopped = true
  }

  /** Stops after the current command; the unread rest of the chunk is kept for `resume`. */
  suspend(): void {
    this.#suspended = true
  }

  /** Ends a suspension; returns the bytes not yet read, which the caller feeds again. */
  resume(): Buffer | undefined {
    this.#suspended = false
    const rest = this.#rest
    this.#rest = undefined
    return rest
  }

  #fail(message: string): void {
    this.#stopped = true
    this.#sink.onProtocolError(message)
  }

  /** The bytes up to `\n` (exclusive), with what earlier chunks held of the line. */
  #takeLine(chunk: Buffer, i: number, nl: number): Buffer {
    if (this.#line.length === 0) return chunk.subarray(i, nl)
    this.#line.push(chunk.subarray(i, nl))
    const line = Buffer.concat(this.#line)
    this.#line = []
    this.#lineLen = 0
    return line
  }

  push(chunk: Buffer): void {
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.#stopped) return
      if (this.#suspended) {
        this.#rest = Buffer.from(chunk.subarray(i))
        return
      }
      switch (this.#state) {
        case State.START: {
          if (chunk[i] !== 42) {
            this.#state = State.INLINE
            break
          }
          const next = this.#fastPublish(chunk, i)
          if (next > 0) i = next
          else {
            this.#state = State.COUNT
            i++
          }
          break
        }
        case State.INLINE:
        case State.COUNT:
        case State.BULK_LEN: {
          const nl = chunk.indexOf(10, i)
          if (nl < 0) {
            this.#lineLen += n - i
            if (this.#lineLen > this.#limits.maxInlineBytes) {
              this.#fail(this.#tooBig())
              return
            }
            this.#line.push(Buffer.from(chunk.subarray(i)))
            return
          }
          let line = this.#takeLine(chunk, i, nl)
          i = nl + 1
          if (line.length > this.#limits.maxInlineBytes) {
            this.#fail(this.#tooBig())
            return
          }
          const cr = line.length > 0 && line[line.length - 1] === 13
          if (cr) line = line.subarray(0, line.length - 1)
          if (this.#state === State.INLINE) this.#inline(line)
          else if (!cr) this.#fail(this.#state === State.COUNT ? 'Protocol error: invalid multibulk length' : 'Protocol error: invalid bulk length')
          else if (this.#state === State.COUNT) this.#onCount(line)
          else this.#onBulkLen(line)
          break
        }
        case State.BULK: {
          const want = this.#bulkLen - this.#bulkGot
          const avail = n - i
          if (this.#bulk === undefined && avail >= want) {
            this.#args.push(chunk.subarray(i, i + want))
            i += want
            this.#state = State.BULK_CR
            break
          }
          const take = Math.min(want, avail)
          const bulk = (this.#bulk ??= Buffer.allocUnsafe(this.#bulkLen))
          chunk.copy(bulk, this.#bulkGot, i, i + take)
          this.#bulkGot += take
          i += take
          if (this.#bulkGot === this.#bulkLen) {
            this.#args.push(bulk)
            this.#bulk = undefined
            this.#state = State.BULK_CR
          }
          break
        }
        case State.BULK_CR:
          if (chunk[i] !== 13) return this.#fail('Protocol error: invalid bulk terminator')
          i++
          this.#state = State.BULK_LF
          break
        case State.BULK_LF:
          if (chunk[i] !== 10) return this.#fail('Protocol error: invalid bulk terminator')
          i++
          if (this.#args.length === this.#count) this.#emit()
          else this.#state = State.BULK_LEN
          break
      }
    }
  }

  /**
   * A pipelined publisher sends little else than `*3\r\n$7\r\nPUBLISH\r\n$<n>\r\n<channel>\r\n$<m>\r\n<payload>\r\n`:
   * when all of it is in the chunk it is read here in one pass, without a view per length line.
   * Returns the index after it, or -1 for anything else (split across chunks, other commands,
   * odd length lines, limits, unauthenticated clients): the general path reads it from `i`, so
   * what a client sees never depends on which path read its command.
   */
  #fastPublish(chunk: Buffer, i: number): number {
    const n = chunk.length
    // `*3\r\n$7\r\n` + 7 + `\r\n$` + at least `0\r\n\r\n$0\r\n\r\n`.
    if (i + 30 > n || this.#sink.restricted) return -1
    if (chunk[i + 1] !== 51 || chunk[i + 2] !== 13 || chunk[i + 3] !== 10 || chunk[i + 4] !== 36 || chunk[i + 5] !== 55 || chunk[i + 6] !== 13 || chunk[i + 7] !== 10) return -1
    if (!publishAt(chunk, i + 8) || chunk[i + 15] !== 13 || chunk[i + 16] !== 10 || chunk[i + 17] !== 36) return -1
    const chLen = this.#fastLen(chunk, i + 18, n)
    if (chLen < 0 || chLen > this.#limits.maxBulkBytes) return -1
    const ch = this.#fastEnd
    const chEnd = ch + chLen
    if (chEnd + 3 >= n || chunk[chEnd] !== 13 || chunk[chEnd + 1] !== 10 || chunk[chEnd + 2] !== 36) return -1
    const len = this.#fastLen(chunk, chEnd + 3, n)
    if (len < 0 || len > this.#limits.maxPayloadBytes) return -1
    const body = this.#fastEnd
    const end = body + len
    if (end + 1 >= n || chunk[end] !== 13 || chunk[end + 1] !== 10) return -1
    // A pipeline repeats its name and channel: the last ones are kept as copies and handed out
    // again while the bytes match, instead of a new view per command.
    let name = this.#fastName
    if (!equalAt(name, chunk, i + 8)) name = this.#fastName = Buffer.from(chunk.subarray(i + 8, i + 15))
    let channel = this.#fastChannel
    if (chLen > 64) channel = chunk.subarray(ch, chEnd)
    else if (channel.length !== chLen || !equalAt(channel, chunk, ch)) channel = this.#fastChannel = Buffer.from(chunk.subarray(ch, chEnd))
    this.#sink.onCommand([name, channel, chunk.subarray(body, end)])
    return end + 2
  }

  /** A fast-path length: 1 to 10 plain digits from `p`, then `\r\n` (index after it in #fastEnd); else -1. */
  #fastLen(chunk: Buffer, p: number, n: number): number {
    const end = Math.min(n, p + 10)
    let v = 0
    let q = p
    for (; q < end; q++) {
      const c = chunk[q] as number
      if (c < 48 || c > 57) break
      v = v * 10 + (c - 48)
    }
    if (q === p || q + 1 >= n || chunk[q] !== 13 || chunk[q + 1] !== 10) return -1
    this.#fastEnd = q + 2
    return v
  }

  #tooBig(): string {
    if (this.#state === State.INLINE) return 'Protocol error: too big inline request'
    return this.#state === State.COUNT ? 'Protocol error: too big mbulk count string' : 'Protocol error: too big bulk count string'
  }

  #inline(line: Buffer): void {
    this.#state = State.START
    const args = splitInline(line)
    if (args === undefined) return this.#fail('Protocol error: unbalanced quotes in request')
    // A blank line is no command (Redis ignores it).
    if (args.length === 0) return
    if (this.#sink.restricted && args.length > UNAUTH_MAX_ARGS) return this.#fail('Protocol error: unauthenticated multibulk length')
    this.#sink.onCommand(args)
  }

  #onCount(line: Buffer): void {
    const v = readInt(line)
    if (v === undefined || v > this.#limits.maxArgs) return this.#fail('Protocol error: invalid multibulk length')
    if (this.#sink.restricted && v > UNAUTH_MAX_ARGS) return this.#fail('Protocol error: unauthenticated multibulk length')
    // `*0` and `*-1` are no command.
    if (v <= 0) {
      this.#state = State.START
      return
    }
    this.#count = v
    this.#args = []
    this.#state = State.BULK_LEN
  }

  #onBulkLen(line: Buffer): void {
    if (line[0] !== 36) {
      const got = line.length === 0 ? '' : String.fromCharCode(line[0] as number)
      return this.#fail(`Protocol error: expected '$', got '${got}'`)
    }
    const v = readInt(line.subarray(1))
    const args = this.#args
    const limit = args.length === 2 && isPublish(args[0] as Buffer) ? this.#limits.maxPayloadBytes : this.#limits.maxBulkBytes
    if (v === undefined || v < 0 || v > limit) return this.#fail('Protocol error: invalid bulk length')
    if (this.#sink.restricted && v > UNAUTH_MAX_BULK) return this.#fail('Protocol error: unauthenticated bulk length')
    this.#bulkLen = v
    this.#bulkGot = 0
    if (v === 0) {
      args.push(EMPTY)
      this.#state = State.BULK_CR
    } else this.#state = State.BULK
  }

  #emit(): void {
    const args = this.#args
    this.#args = []
    this.#state = State.START
    this.#sink.onCommand(args)
  }
}
