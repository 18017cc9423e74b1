// Incremental parser for the client side of the NATS protocol (what clients send to a server).
// A plain class fed byte chunks: one byte at a time through an `as const` state table, payloads
// handed out as views of the chunk and copied only when a frame spans chunks. It owns no socket
// or timer; it calls a ParserHandler. Limits are checked before anything is allocated.
import { ControlLine, parseDecimal, splitArgs } from './control-line.js'
import { ParseError, type ParseErrorKind, type ParserHandler, type ParserLimits } from './parser-handler.js'
import { CR, EMPTY, LF, State, isSpace, lc, type ParserState } from './parser-states.js'
import { PubArgs } from './pub-args.js'

export class Parser {
  state: ParserState = State.OP_START
  readonly #h: ParserHandler
  readonly #maxControlLine: number
  #maxPayload: number
  /** The argument line of the current op. */
  readonly #argLine: ControlLine
  /** Pending publish. */
  readonly #pub = new PubArgs()
  #payload: Buffer = EMPTY
  /** Bytes of a spanning payload copied so far, -1 when the payload is a view. */
  #payloadPos = -1

  constructor(handler: ParserHandler, limits: ParserLimits) {
    this.#h = handler
    this.#maxControlLine = limits.maxControlLine
    this.#maxPayload = limits.maxPayload
    this.#argLine = new ControlLine(limits.maxControlLine)
  }

  set maxPayload(n: number) {
    this.#maxPayload = n
  }

  #isDead(): boolean {
    return this.state === State.DEAD
  }

  #fail(kind: ParseErrorKind, detail: string): void {
    this.state = State.DEAD
    this.#argLine.drop()
    this.#payload = EMPTY
    this.#h.onParseError(kind, detail)
  }

  /** Set by suspend(): parse() stops after the current CONNECT and keeps the rest of the chunk. */
  #suspended = false
  #rest: Buffer | undefined

  /** Called from onConnect: stop after this CONNECT (its password check is still running). */
  suspend(): void {
    this.#suspended = true
  }

  /** Ends a suspension; returns the bytes of the chunk that were not parsed. */
  resume(): Buffer | undefined {
    this.#suspended = false
    const rest = this.#rest
    this.#rest = undefined
    return rest
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
            this.#argLine.start = i
            i--
          }
          break
        case State.PUB_ARG:
        case State.HPUB_ARG:
          if (b === LF) {
            if (this.#argLine.lengthAt(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'pub args')
            const isH = this.state === State.HPUB_ARG
            this.#argLine.range(buf, i)
            const pub = this.#pub
            if (!pub.parse(this.#argLine, isH, this.#maxPayload)) return this.#fail(pub.error, pub.detail)
            this.state = State.MSG_PAYLOAD
            this.#payloadPos = -1
            // Fast path: the whole payload is in this chunk.
            if (pub.size > 0 && i + 1 + pub.size <= n) {
              this.#payload = buf.subarray(i + 1, i + 1 + pub.size)
              i += pub.size
              this.state = State.MSG_END_R
            } else if (pub.size === 0) {
              this.#payload = EMPTY
              this.state = State.MSG_END_R
            }
          }
          break
        case State.MSG_PAYLOAD: {
          const size = this.#pub.size
          if (this.#payloadPos < 0) {
            this.#payload = Buffer.allocUnsafe(size)
            this.#payloadPos = 0
          }
          const want = size - this.#payloadPos
          const have = n - i
          const take = have < want ? have : want
          buf.copy(this.#payload, this.#payloadPos, i, i + take)
          this.#payloadPos += take
          i += take - 1
          if (this.#payloadPos === size) this.state = State.MSG_END_R
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
          const pub = this.#pub
          this.#h.onPub(pub.subject, pub.reply, pub.hdrLen, payload)
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
            this.#argLine.start = i
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
            this.#argLine.start = i
            i--
          }
          break
        case State.SUB_ARG:
          if (b === LF) {
            if (this.#argLine.lengthAt(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'sub args')
            const args = splitArgs(this.#argLine.text(buf, i))
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
            this.#argLine.start = i
            i--
          }
          break
        case State.UNSUB_ARG:
          if (b === LF) {
            if (this.#argLine.lengthAt(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'unsub args')
            const args = splitArgs(this.#argLine.text(buf, i))
            this.state = State.OP_START
            if (args.length === 1) this.#h.onUnsub(args[0] as string, 0)
            else if (args.length === 2) {
              // A max that is not a number unsubscribes at once, as nats-server does.
              this.#h.onUnsub(args[0] as string, Math.max(0, parseDecimal(args[1] as string)))
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
          this.#argLine.start = i
          i--
          break
        case State.CONNECT_ARG:
          if (b === LF) {
            if (this.#argLine.lengthAt(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'connect')
            const json = this.#argLine.text(buf, i)
            this.state = State.OP_START
            this.#h.onConnect(json)
            if (this.#isDead()) return
            if (this.#suspended) {
              this.#rest = i + 1 < n ? Buffer.from(buf.subarray(i + 1)) : undefined
              return
            }
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
          this.#argLine.start = i
          i--
          break
        case State.INFO_ARG:
          // A client's INFO is accepted and ignored, as nats-server does for clients.
          if (b === LF) {
            if (this.#argLine.lengthAt(i) > this.#maxControlLine) return this.#fail(ParseError.MAX_CONTROL_LINE, 'info')
            this.#argLine.drop()
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
      case State.INFO_ARG:
        if (!this.#argLine.carry(buf, n)) this.#fail(ParseError.MAX_CONTROL_LINE, 'control line')
        break
      default:
        break
    }
  }
}
