// Incremental parser for the client side of the NATS protocol (what clients send to a server).
// A plain class fed byte chunks: one byte at a time through an `as const` state table, payloads
// handed out as views of the chunk and copied only when a frame spans chunks. It owns no socket
// or timer; it calls a ParserHandler. Limits are checked before anything is allocated.

export const State = {
  OP_START: 0,
  OP_P: 1,
  OP_PU: 2,
  OP_PUB: 3,
  OP_PUB_SPC: 4,
  PUB_ARG: 5,
  OP_PI: 6,
  OP_PIN: 7,
  OP_PING: 8,
  OP_PO: 9,
  OP_PON: 10,
  OP_PONG: 11,
  OP_H: 12,
  OP_HP: 13,
  OP_HPU: 14,
  OP_HPUB: 15,
  OP_HPUB_SPC: 16,
  HPUB_ARG: 17,
  OP_S: 18,
  OP_SU: 19,
  OP_SUB: 20,
  OP_SUB_SPC: 21,
  SUB_ARG: 22,
  OP_U: 23,
  OP_UN: 24,
  OP_UNS: 25,
  OP_UNSU: 26,
  OP_UNSUB: 27,
  OP_UNSUB_SPC: 28,
  UNSUB_ARG: 29,
  OP_C: 30,
  OP_CO: 31,
  OP_CON: 32,
  OP_CONN: 33,
  OP_CONNE: 34,
  OP_CONNEC: 35,
  OP_CONNECT: 36,
  CONNECT_ARG: 37,
  OP_I: 38,
  OP_IN: 39,
  OP_INF: 40,
  OP_INFO: 41,
  INFO_ARG: 42,
  MSG_PAYLOAD: 43,
  MSG_END_R: 44,
  MSG_END_N: 45,
  OP_PLUS: 46,
  OP_PLUS_O: 47,
  OP_PLUS_OK: 48,
  /** After a fatal error: everything else is ignored. */
  DEAD: 49,
} as const

export type ParserState = (typeof State)[keyof typeof State]

/** Why parsing stopped. Every parse error is fatal for the connection. */
export const ParseError = {
  UNKNOWN_OP: 'unknown_op',
  MAX_CONTROL_LINE: 'max_control_line',
  MAX_PAYLOAD: 'max_payload',
  BAD_ARGS: 'bad_args',
} as const

export type ParseErrorKind = (typeof ParseError)[keyof typeof ParseError]

export interface ParserHandler {
  onConnect(json: string): void
  /** hdrLen is -1 for PUB. `payload` holds header block + body and is only valid during the call. */
  onPub(subject: string, reply: string, hdrLen: number, payload: Buffer): void
  onSub(subject: string, queue: string | undefined, sid: string): void
  onUnsub(sid: string, max: number): void
  onPing(): void
  onPong(): void
  onParseError(kind: ParseErrorKind, detail: string): void
}

export interface ParserLimits {
  maxControlLine: number
  maxPayload: number
}

const CR = 13
const LF = 10
const SPACE = 32
const TAB = 9

/** Lower-cases an ASCII letter byte (protocol ops are case-insensitive). */
const lc = (b: number): number => (b >= 65 && b <= 90 ? b | 0x20 : b)

function isSpace(b: number): boolean {
  return b === SPACE || b === TAB
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

/** Parses a non-negative decimal size; -1 when it is not one. */
export function parseSize(s: string): number {
  if (s.length === 0 || s.length > 15) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

const EMPTY = Buffer.alloc(0)

export class Parser {
  state: ParserState = State.OP_START
  readonly #h: ParserHandler
  readonly #maxControlLine: number
  #maxPayload: number
  /** Where the current argument starts in the current chunk. */
  #argStart = 0
  /** Bytes of an argument line carried over from earlier chunks. */
  #argBuf: Buffer | undefined
  #argLen = 0
  /** Pending publish. */
  #subject = ''
  #reply = ''
  #hdrLen = -1
  #size = 0
  #payload: Buffer = EMPTY
  /** Bytes of a spanning payload copied so far, -1 when the payload is a view. */
  #payloadPos = -1
  /** Argument range set by #argRange. */
  #rb: Buffer = EMPTY
  #rs = 0
  #re = 0
  /** Token boundaries of a PUB/HPUB line: start/end pairs. */
  readonly #tok = new Int32Array(10)

  constructor(handler: ParserHandler, limits: ParserLimits) {
    this.#h = handler
    this.#maxControlLine = limits.maxControlLine
    this.#maxPayload = limits.maxPayload
  }

  set maxPayload(n: number) {
    this.#maxPayload = n
  }

  #isDead(): boolean {
    return this.state === State.DEAD
  }

  #fail(kind: ParseErrorKind, detail: string): void {
    this.state = State.DEAD
    this.#argBuf = undefined
    this.#payload = EMPTY
    this.#h.onParseError(kind, detail)
  }

  /** The current argument line (without CR/LF), joining carried-over bytes. */
  #arg(buf: Buffer, end: number): string {
    let e = end
    if (e > this.#argStart && buf[e - 1] === CR) e--
    if (this.#argBuf === undefined) return buf.toString('utf8', this.#argStart, e)
    let tail = buf.subarray(this.#argStart, e)
    let joined = Buffer.concat([this.#argBuf.subarray(0, this.#argLen), tail])
    // A CR at the very end of the previous chunk.
    if (tail.length === 0 && joined.length > 0 && joined[joined.length - 1] === CR) joined = joined.subarray(0, joined.length - 1)
    this.#argBuf = undefined
    this.#argLen = 0
    tail = EMPTY
    return joined.toString('utf8')
  }

  /** The current argument line as a byte range (joining carried-over bytes), CR/LF excluded. */
  #argRange(buf: Buffer, end: number): void {
    if (this.#argBuf === undefined) {
      let e = end
      if (e > this.#argStart && buf[e - 1] === CR) e--
      this.#rb = buf
      this.#rs = this.#argStart
      this.#re = e
      return
    }
    let joined = Buffer.concat([this.#argBuf.subarray(0, this.#argLen), buf.subarray(this.#argStart, end)])
    if (joined.length > 0 && joined[joined.length - 1] === CR) joined = joined.subarray(0, joined.length - 1)
    this.#argBuf = undefined
    this.#argLen = 0
    this.#rb = joined
    this.#rs = 0
    this.#re = joined.length
  }

  /** Control-line length so far, including carried-over bytes. */
  #argSoFar(i: number): number {
    return this.#argLen + (i - this.#argStart)
  }

  parse(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const n = buf.length
    let i = 0
    for (; i < n; i++) {
      const b = buf[i] as number
      switch (this.state) {
        case State.OP_START:
          switch (lc(b)) {
            case 112: // p
              this.state = State.OP_P
              break
            case 104: // h
              this.state = State.OP_H
              break
            case 115: // s
              this.state = State.OP_S
              break
            case 117: // u
              this.state = State.OP_U
              break
            case 99: // c
              this.state = State.OP_C
              break
            case 105: // i
              this.state = State.OP_I
              break
            case 43: // +
              this.state = State.OP_PLUS
              break
            case CR:
            case LF:
              break
            default:
              this.#fail(ParseError.UNKNOWN_OP, `unexpected byte ${b}`)
              return
          }
          break
        case State.OP_P:
          switch (lc(b)) {
            case 117: // u
              this.state = State.OP_PU
              break
            case 105: // i
              this.state = State.OP_PI
              break
            case 111: // o
              this.state = State.OP_PO
              break
            default:
              this.#fail(ParseError.UNKNOWN_OP, 'after P')
              return
          }
          break
        case State.OP_PU:
          if (lc(b) !== 98) return this.#fail(ParseError.UNKNOWN_OP, 'after PU')
          this.state = State.OP_PUB
          break
        case State.OP_PUB:
          if (!isSpace(b)) return this.#fail(ParseError.UNKNOWN_OP, 'after PUB')
          this.state = State.OP_PUB_SPC
          break
        case State.OP_PUB_SPC:
          if (!isSpace(b)) {
            this.state = State.PUB_ARG
            this.#argStart = i
            i--
          }
          break
        case State.PUB_ARG:
        case State.HPUB_ARG:
          if (b === LF) {
            if (this.#argSoFar(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'pub args')
            const isH = this.state === State.HPUB_ARG
            this.#argRange(buf, i)
            if (!this.#pubArgs(isH)) return
            this.state = State.MSG_PAYLOAD
            this.#payloadPos = -1
            // Fast path: the whole payload is in this chunk.
            if (this.#size > 0 && i + 1 + this.#size <= n) {
              this.#payload = buf.subarray(i + 1, i + 1 + this.#size)
              i += this.#size
              this.state = State.MSG_END_R
            } else if (this.#size === 0) {
              this.#payload = EMPTY
              this.state = State.MSG_END_R
            }
          }
          break
        case State.MSG_PAYLOAD: {
          if (this.#payloadPos < 0) {
            this.#payload = Buffer.allocUnsafe(this.#size)
            this.#payloadPos = 0
          }
          const want = this.#size - this.#payloadPos
          const have = n - i
          const take = have < want ? have : want
          buf.copy(this.#payload, this.#payloadPos, i, i + take)
          this.#payloadPos += take
          i += take - 1
          if (this.#payloadPos === this.#size) this.state = State.MSG_END_R
          break
        }
        case State.MSG_END_R:
          if (b !== CR) return this.#fail(ParseError.UNKNOWN_OP, 'payload not followed by CRLF')
          this.state = State.MSG_END_N
          break
        case State.MSG_END_N: {
          if (b !== LF) return this.#fail(ParseError.UNKNOWN_OP, 'payload not followed by CRLF')
          this.state = State.OP_START
          const payload = this.#payload
          this.#payload = EMPTY
          this.#h.onPub(this.#subject, this.#reply, this.#hdrLen, payload)
          if (this.#isDead()) return
          break
        }
        case State.OP_PI:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after PI')
          this.state = State.OP_PIN
          break
        case State.OP_PIN:
          if (lc(b) !== 103) return this.#fail(ParseError.UNKNOWN_OP, 'after PIN')
          this.state = State.OP_PING
          break
        case State.OP_PING:
          if (b === LF) {
            this.state = State.OP_START
            this.#h.onPing()
            if (this.#isDead()) return
          }
          break
        case State.OP_PO:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after PO')
          this.state = State.OP_PON
          break
        case State.OP_PON:
          if (lc(b) !== 103) return this.#fail(ParseError.UNKNOWN_OP, 'after PON')
          this.state = State.OP_PONG
          break
        case State.OP_PONG:
          if (b === LF) {
            this.state = State.OP_START
            this.#h.onPong()
            if (this.#isDead()) return
          }
          break
        case State.OP_H:
          if (lc(b) !== 112) return this.#fail(ParseError.UNKNOWN_OP, 'after H')
          this.state = State.OP_HP
          break
        case State.OP_HP:
          if (lc(b) !== 117) return this.#fail(ParseError.UNKNOWN_OP, 'after HP')
          this.state = State.OP_HPU
          break
        case State.OP_HPU:
          if (lc(b) !== 98) return this.#fail(ParseError.UNKNOWN_OP, 'after HPU')
          this.state = State.OP_HPUB
          break
        case State.OP_HPUB:
          if (!isSpace(b)) return this.#fail(ParseError.UNKNOWN_OP, 'after HPUB')
          this.state = State.OP_HPUB_SPC
          break
        case State.OP_HPUB_SPC:
          if (!isSpace(b)) {
            this.state = State.HPUB_ARG
            this.#argStart = i
            i--
          }
          break
        case State.OP_S:
          if (lc(b) !== 117) return this.#fail(ParseError.UNKNOWN_OP, 'after S')
          this.state = State.OP_SU
          break
        case State.OP_SU:
          if (lc(b) !== 98) return this.#fail(ParseError.UNKNOWN_OP, 'after SU')
          this.state = State.OP_SUB
          break
        case State.OP_SUB:
          if (!isSpace(b)) return this.#fail(ParseError.UNKNOWN_OP, 'after SUB')
          this.state = State.OP_SUB_SPC
          break
        case State.OP_SUB_SPC:
          if (!isSpace(b)) {
            this.state = State.SUB_ARG
            this.#argStart = i
            i--
          }
          break
        case State.SUB_ARG:
          if (b === LF) {
            if (this.#argSoFar(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'sub args')
            const args = splitArgs(this.#arg(buf, i))
            this.state = State.OP_START
            if (args.length === 2) this.#h.onSub(args[0] as string, undefined, args[1] as string)
            else if (args.length === 3) this.#h.onSub(args[0] as string, args[1] as string, args[2] as string)
            else return this.#fail(ParseError.BAD_ARGS, `SUB takes 2 or 3 arguments, got ${args.length}`)
            if (this.#isDead()) return
          }
          break
        case State.OP_U:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after U')
          this.state = State.OP_UN
          break
        case State.OP_UN:
          if (lc(b) !== 115) return this.#fail(ParseError.UNKNOWN_OP, 'after UN')
          this.state = State.OP_UNS
          break
        case State.OP_UNS:
          if (lc(b) !== 117) return this.#fail(ParseError.UNKNOWN_OP, 'after UNS')
          this.state = State.OP_UNSU
          break
        case State.OP_UNSU:
          if (lc(b) !== 98) return this.#fail(ParseError.UNKNOWN_OP, 'after UNSU')
          this.state = State.OP_UNSUB
          break
        case State.OP_UNSUB:
          if (!isSpace(b)) return this.#fail(ParseError.UNKNOWN_OP, 'after UNSUB')
          this.state = State.OP_UNSUB_SPC
          break
        case State.OP_UNSUB_SPC:
          if (!isSpace(b)) {
            this.state = State.UNSUB_ARG
            this.#argStart = i
            i--
          }
          break
        case State.UNSUB_ARG:
          if (b === LF) {
            if (this.#argSoFar(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'unsub args')
            const args = splitArgs(this.#arg(buf, i))
            this.state = State.OP_START
            if (args.length === 1) this.#h.onUnsub(args[0] as string, 0)
            else if (args.length === 2) {
              // A max that is not a number unsubscribes at once, as nats-server does.
              this.#h.onUnsub(args[0] as string, Math.max(0, parseSize(args[1] as string)))
            } else return this.#fail(ParseError.BAD_ARGS, `UNSUB takes 1 or 2 arguments, got ${args.length}`)
            if (this.#isDead()) return
          }
          break
        case State.OP_C:
          if (lc(b) !== 111) return this.#fail(ParseError.UNKNOWN_OP, 'after C')
          this.state = State.OP_CO
          break
        case State.OP_CO:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after CO')
          this.state = State.OP_CON
          break
        case State.OP_CON:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after CON')
          this.state = State.OP_CONN
          break
        case State.OP_CONN:
          if (lc(b) !== 101) return this.#fail(ParseError.UNKNOWN_OP, 'after CONN')
          this.state = State.OP_CONNE
          break
        case State.OP_CONNE:
          if (lc(b) !== 99) return this.#fail(ParseError.UNKNOWN_OP, 'after CONNE')
          this.state = State.OP_CONNEC
          break
        case State.OP_CONNEC:
          if (lc(b) !== 116) return this.#fail(ParseError.UNKNOWN_OP, 'after CONNEC')
          this.state = State.OP_CONNECT
          break
        case State.OP_CONNECT:
          if (isSpace(b)) break
          this.state = State.CONNECT_ARG
          this.#argStart = i
          i--
          break
        case State.CONNECT_ARG:
          if (b === LF) {
            if (this.#argSoFar(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'connect')
            const json = this.#arg(buf, i)
            this.state = State.OP_START
            this.#h.onConnect(json)
            if (this.#isDead()) return
          }
          break
        case State.OP_I:
          if (lc(b) !== 110) return this.#fail(ParseError.UNKNOWN_OP, 'after I')
          this.state = State.OP_IN
          break
        case State.OP_IN:
          if (lc(b) !== 102) return this.#fail(ParseError.UNKNOWN_OP, 'after IN')
          this.state = State.OP_INF
          break
        case State.OP_INF:
          if (lc(b) !== 111) return this.#fail(ParseError.UNKNOWN_OP, 'after INF')
          this.state = State.OP_INFO
          break
        case State.OP_INFO:
          if (isSpace(b)) break
          this.state = State.INFO_ARG
          this.#argStart = i
          i--
          break
        case State.INFO_ARG:
          // A client's INFO is accepted and ignored, as nats-server does for clients.
          if (b === LF) {
            if (this.#argSoFar(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'info')
            this.#argBuf = undefined
            this.#argLen = 0
            this.state = State.OP_START
          }
          break
        case State.OP_PLUS:
          if (lc(b) !== 111) return this.#fail(ParseError.UNKNOWN_OP, 'after +')
          this.state = State.OP_PLUS_O
          break
        case State.OP_PLUS_O:
          if (lc(b) !== 107) return this.#fail(ParseError.UNKNOWN_OP, 'after +O')
          this.state = State.OP_PLUS_OK
          break
        case State.OP_PLUS_OK:
          if (b === LF) this.state = State.OP_START
          break
        case State.DEAD:
          return
      }
    }
    // Carry an unfinished argument line over to the next chunk, bounded by max_control_line.
    switch (this.state) {
      case State.PUB_ARG:
      case State.HPUB_ARG:
      case State.SUB_ARG:
      case State.UNSUB_ARG:
      case State.CONNECT_ARG:
      case State.INFO_ARG: {
        const part = n - this.#argStart
        const total = this.#argLen + part
        if (total > this.#maxControlLine) {
          this.#fail(ParseError.MAX_CONTROL_LINE, 'control line')
          return
        }
        if (this.#argBuf === undefined) this.#argBuf = Buffer.allocUnsafe(Math.min(this.#maxControlLine + 2, Math.max(256, total * 2)))
        else if (this.#argBuf.length < total) {
          const bigger = Buffer.allocUnsafe(Math.min(this.#maxControlLine + 2, total * 2))
          this.#argBuf.copy(bigger, 0, 0, this.#argLen)
          this.#argBuf = bigger
        }
        buf.copy(this.#argBuf, this.#argLen, this.#argStart, n)
        this.#argLen = total
        this.#argStart = 0
        break
      }
      default:
        break
    }
  }

  #line(): string {
    return JSON.stringify(this.#rb.toString('utf8', this.#rs, this.#re))
  }

  /** Parses `subject [reply] [hdr] size` straight from bytes: no line string, no split array. */
  #pubArgs(headers: boolean): boolean {
    const b = this.#rb
    const end = this.#re
    const tok = this.#tok
    let n = 0
    let i = this.#rs
    while (i < end) {
      let c = b[i] as number
      if (c === SPACE || c === TAB) {
        i++
        continue
      }
      if (n === 5) break
      tok[n * 2] = i
      while (i < end) {
        c = b[i] as number
        if (c === SPACE || c === TAB) break
        i++
      }
      tok[n * 2 + 1] = i
      n++
    }
    const want = headers ? 3 : 2
    if (n !== want && n !== want + 1) {
      this.#fail(ParseError.BAD_ARGS, `${headers ? 'HPUB' : 'PUB'} takes ${want} or ${want + 1} arguments: ${this.#line()}`)
      return false
    }
    const size = sizeAt(b, tok[(n - 1) * 2] as number, tok[(n - 1) * 2 + 1] as number)
    let hdr = -1
    if (headers) {
      hdr = sizeAt(b, tok[(n - 2) * 2] as number, tok[(n - 2) * 2 + 1] as number)
      if (hdr < 0 || size < 0 || hdr > size) {
        this.#fail(ParseError.BAD_ARGS, `HPUB sizes in ${this.#line()} are not valid`)
        return false
      }
    } else if (size < 0) {
      this.#fail(ParseError.BAD_ARGS, `PUB size in ${this.#line()} is not a number`)
      return false
    }
    if (size > this.#maxPayload) {
      this.#fail(ParseError.MAX_PAYLOAD, `size ${size} exceeds max_payload ${this.#maxPayload}`)
      return false
    }
    const hasReply = n === want + 1
    this.#subject = subjectAt(b, tok[0] as number, tok[1] as number, this.#subject)
    this.#reply = hasReply ? b.toString('utf8', tok[2] as number, tok[3] as number) : ''
    this.#hdrLen = hdr
    this.#size = size
    this.#rb = EMPTY
    return true
  }
}

/** Decimal size from bytes; -1 when not a number. */
function sizeAt(b: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1
  let n = 0
  for (let i = s; i < e; i++) {
    const d = (b[i] as number) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Decodes a subject, reusing the previous string when the bytes are the same (publishers repeat subjects). */
function subjectAt(b: Buffer, s: number, e: number, prev: string): string {
  const len = e - s
  if (prev.length === len) {
    let same = true
    for (let i = 0; i < len; i++) {
      const c = b[s + i] as number
      if (c >= 128 || prev.charCodeAt(i) !== c) {
        same = false
        break
      }
    }
    if (same) return prev
  }
  return b.toString('utf8', s, e)
}
