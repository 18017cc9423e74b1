// Incremental parser for NATS's route protocol (server to server): INFO, CONNECT, PING, PONG,
// RS+, RS-, RMSG, HMSG, +OK, -ERR. A plain class fed byte chunks, no socket, no timer: it calls a
// RouteParserHandler. Control lines are limited before they are kept; payloads are views of the
// chunk, copied only when a frame spans chunks. Any error is fatal for the connection.

export const RouteParseError = {
  UNKNOWN_OP: 'unknown_op',
  MAX_CONTROL_LINE: 'max_control_line',
  MAX_PAYLOAD: 'max_payload',
  BAD_ARGS: 'bad_args',
} as const

export type RouteParseErrorKind = (typeof RouteParseError)[keyof typeof RouteParseError]

export interface RouteParserHandler {
  onInfo(json: string): void
  onConnect(json: string): void
  onPing(): void
  onPong(): void
  onOk(): void
  onErr(text: string): void
  /** RS+: `queue` undefined for plain interest; `weight` is 1 for plain interest. */
  onSub(account: string, subject: string, queue: string | undefined, weight: number): void
  onUnsub(account: string, subject: string, queue: string | undefined): void
  /** RMSG/HMSG. `queues` are the groups the sender wants served here; `payload` is only valid during the call. */
  onMsg(account: string, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void
  onParseError(kind: RouteParseErrorKind, detail: string): void
}

const CR = 13
const LF = 10
const EMPTY = Buffer.alloc(0)

const SPACE = 32
const TAB = 9
const R = 82
const H = 72
const M = 77
const S = 83
const G = 71

/** Splits on runs of spaces and tabs. */
function args(line: string): string[] {
  return line.split(/[ \t]+/).filter((s) => s !== '')
}

/** The arguments of a control line from character `from` on, split on runs of spaces and tabs. */
function splitArgs(line: string, from: number): string[] {
  const out: string[] = []
  let start = -1
  for (let i = from; i < line.length; i++) {
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

/** A decimal size from the wire, or -1 when it is not one (1 to 12 digits: no sign, no exponent). */
function size(text: string | undefined): number {
  if (text === undefined || text.length === 0 || text.length > 12) return -1
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

interface PendingMsg {
  account: string
  subject: string
  reply: string
  queues: string[] | undefined
  hdrLen: number
}

export class RouteParser {
  readonly #h: RouteParserHandler
  readonly #maxControlLine: number
  readonly #maxPayload: number
  #line: Buffer[] = []
  #lineLen = 0
  #dead = false
  // Pending message: set when a RMSG/HMSG line was read and its payload is awaited.
  #need = -1
  #payload: Buffer = EMPTY
  #have = 0
  #msg: PendingMsg | undefined

  constructor(handler: RouteParserHandler, limits: { maxControlLine: number; maxPayload: number }) {
    this.#h = handler
    this.#maxControlLine = limits.maxControlLine
    this.#maxPayload = limits.maxPayload
  }

  get dead(): boolean {
    return this.#dead
  }

  #fail(kind: RouteParseErrorKind, detail: string): void {
    this.#dead = true
    this.#line = []
    this.#payload = EMPTY
    this.#h.onParseError(kind, detail)
  }

  parse(chunk: Buffer): void {
    let i = 0
    const n = chunk.length
    while (i < n && !this.#dead) {
      if (this.#need >= 0) {
        i = this.#takePayload(chunk, i)
        continue
      }
      const lf = chunk.indexOf(LF, i)
      const end = lf < 0 ? n : lf
      if (this.#lineLen + (end - i) > this.#maxControlLine) {
        this.#fail(RouteParseError.MAX_CONTROL_LINE, `control line longer than ${this.#maxControlLine} bytes`)
        return
      }
      if (lf < 0) {
        // Copy: the chunk may be reused by the caller after this returns.
        this.#line.push(Buffer.from(chunk.subarray(i, n)))
        this.#lineLen += n - i
        return
      }
      // One string per control line (one native call), split in JS.
      let line: string
      if (this.#lineLen === 0) line = chunk.toString('latin1', i, lf > i && chunk[lf - 1] === CR ? lf - 1 : lf)
      else {
        this.#line.push(chunk.subarray(i, lf))
        const whole = Buffer.concat(this.#line)
        this.#line = []
        this.#lineLen = 0
        line = whole.toString('latin1', 0, whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length)
      }
      i = lf + 1
      // Fast path for the hot operation: `RMSG`/`HMSG` without the generic op dispatch.
      if (line.length > 5 && line.charCodeAt(4) === SPACE && line.charCodeAt(3) === G && line.charCodeAt(2) === S && line.charCodeAt(1) === M) {
        const c0 = line.charCodeAt(0)
        if (c0 === R || c0 === H) {
          this.#msgArgs(c0 === H, splitArgs(line, 5))
          continue
        }
      }
      this.#op(line)
    }
  }

  #takePayload(chunk: Buffer, i: number): number {
    const want = this.#need + 2 // payload + CRLF
    const avail = chunk.length - i
    if (this.#have === 0 && avail >= want) {
      const payload = chunk.subarray(i, i + this.#need)
      if (chunk[i + this.#need] !== CR || chunk[i + this.#need + 1] !== LF) {
        this.#fail(RouteParseError.BAD_ARGS, 'message payload not followed by CRLF')
        return chunk.length
      }
      this.#deliver(payload)
      return i + want
    }
    if (this.#have === 0) this.#payload = Buffer.allocUnsafe(want)
    const take = Math.min(avail, want - this.#have)
    chunk.copy(this.#payload, this.#have, i, i + take)
    this.#have += take
    if (this.#have === want) {
      const p = this.#payload
      if (p[this.#need] !== CR || p[this.#need + 1] !== LF) {
        this.#fail(RouteParseError.BAD_ARGS, 'message payload not followed by CRLF')
        return chunk.length
      }
      this.#payload = EMPTY
      this.#have = 0
      this.#deliver(p.subarray(0, this.#need))
    }
    return i + take
  }

  #deliver(payload: Buffer): void {
    const m = this.#msg as PendingMsg
    this.#need = -1
    this.#msg = undefined
    this.#h.onMsg(m.account, m.subject, m.reply, m.queues, m.hdrLen, payload)
  }

  #op(line: string): void {
    if (line.trim() === '') return
    const sp = line.search(/[ \t]/)
    const op = (sp < 0 ? line : line.slice(0, sp)).toUpperCase()
    const rest = sp < 0 ? '' : line.slice(sp + 1).trim()
    switch (op) {
      case 'PING':
        this.#h.onPing()
        return
      case 'PONG':
        this.#h.onPong()
        return
      case '+OK':
        this.#h.onOk()
        return
      case '-ERR':
        this.#h.onErr(rest.replace(/^'(.*)'$/, '$1'))
        return
      case 'INFO':
      case 'CONNECT':
        if (!rest.startsWith('{')) {
          this.#fail(RouteParseError.BAD_ARGS, `${op} without a JSON object`)
          return
        }
        if (op === 'INFO') this.#h.onInfo(rest)
        else this.#h.onConnect(rest)
        return
      case 'RS+':
      case 'RS-':
        this.#sub(op, args(rest))
        return
      case 'RMSG':
      case 'HMSG':
        this.#msgArgs(op === 'HMSG', args(rest))
        return
      default:
        this.#fail(RouteParseError.UNKNOWN_OP, `unknown route operation ${JSON.stringify(op.slice(0, 32))}`)
    }
  }

  #sub(op: string, a: string[]): void {
    if (op === 'RS+') {
      if (a.length !== 2 && a.length !== 4) return this.#fail(RouteParseError.BAD_ARGS, `RS+ with ${a.length} arguments`)
      if (a.length === 2) return this.#h.onSub(a[0] as string, a[1] as string, undefined, 1)
      const w = size(a[3])
      if (w < 1 || w > 0xffffffff) return this.#fail(RouteParseError.BAD_ARGS, `RS+ queue weight ${JSON.stringify(a[3])} is not a positive integer`)
      return this.#h.onSub(a[0] as string, a[1] as string, a[2], w)
    }
    if (a.length !== 2 && a.length !== 3) return this.#fail(RouteParseError.BAD_ARGS, `RS- with ${a.length} arguments`)
    this.#h.onUnsub(a[0] as string, a[1] as string, a[2])
  }

  /** `RMSG <acc> <subj> [+ <reply> <q...> | \| <q...> | <reply>] [<hdr>] <size>` (nats-server's processRoutedMsgArgs). */
  #msgArgs(hmsg: boolean, a: string[]): void {
    const min = hmsg ? 4 : 3
    if (a.length < min) return this.#fail(RouteParseError.BAD_ARGS, `${hmsg ? 'HMSG' : 'RMSG'} with ${a.length} arguments`)
    const total = size(a[a.length - 1])
    const hdrLen = hmsg ? size(a[a.length - 2]) : -1
    if (total < 0 || (hmsg && (hdrLen < 0 || hdrLen > total))) return this.#fail(RouteParseError.BAD_ARGS, 'message size is not a valid integer')
    if (total > this.#maxPayload) return this.#fail(RouteParseError.MAX_PAYLOAD, `message size ${total} exceeds max_payload ${this.#maxPayload}`)
    const mid = a.slice(2, a.length - (hmsg ? 2 : 1))
    let reply = ''
    let queues: string[] | undefined
    if (mid.length === 1) reply = mid[0] as string
    else if (mid.length > 1) {
      if (mid[0] === '+') {
        reply = mid[1] as string
        queues = mid.slice(2)
      } else if (mid[0] === '|') queues = mid.slice(1)
      else return this.#fail(RouteParseError.BAD_ARGS, `bad reply indicator ${JSON.stringify((mid[0] as string).slice(0, 16))}`)
    }
    this.#msg = { account: a[0] as string, subject: a[1] as string, reply, queues, hdrLen }
    this.#need = total
    this.#have = 0
  }
}
