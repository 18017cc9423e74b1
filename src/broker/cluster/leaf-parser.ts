// Incremental parser for NATS's leafnode protocol (nats-server's leafnode.go): INFO, CONNECT,
// PING, PONG, LS+, LS-, LMSG, HMSG, +OK, -ERR. Like the route protocol but without an account
// (a leaf connection is bound to one) and with its own verbs. A plain class fed byte chunks, no
// socket, no timer: it calls a LeafParserHandler. Control lines are limited before they are kept;
// payloads are views of the chunk, copied only when a frame spans chunks. Any error is fatal.

export const LeafParseError = {
  UNKNOWN_OP: 'unknown_op',
  MAX_CONTROL_LINE: 'max_control_line',
  MAX_PAYLOAD: 'max_payload',
  BAD_ARGS: 'bad_args',
} as const

export type LeafParseErrorKind = (typeof LeafParseError)[keyof typeof LeafParseError]

export interface LeafParserHandler {
  onInfo(json: string): void
  onConnect(json: string): void
  onPing(): void
  onPong(): void
  onOk(): void
  onErr(text: string): void
  /** LS+: `queue` undefined for plain interest; `weight` is 1 for plain interest. */
  onSub(subject: string, queue: string | undefined, weight: number): void
  onUnsub(subject: string, queue: string | undefined): void
  /** LMSG/HMSG. `queues` are the groups the sender wants served here; `payload` is only valid during the call. */
  onMsg(subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void
  onParseError(kind: LeafParseErrorKind, detail: string): void
}

const CR = 13
const LF = 10
const EMPTY = Buffer.alloc(0)

function args(line: string): string[] {
  return line.split(/[ \t]+/).filter((s) => s !== '')
}

/** A decimal size from the wire, or -1 when it is not one (no sign, no exponent, safe integer). */
function size(text: string | undefined): number {
  if (text === undefined || !/^[0-9]{1,12}$/.test(text)) return -1
  return Number(text)
}

interface PendingMsg {
  subject: string
  reply: string
  queues: string[] | undefined
  hdrLen: number
}

export class LeafParser {
  readonly #h: LeafParserHandler
  readonly #maxControlLine: number
  readonly #maxPayload: number
  #line: Buffer[] = []
  #lineLen = 0
  #dead = false
  #need = -1
  #payload: Buffer = EMPTY
  #have = 0
  #msg: PendingMsg | undefined

  constructor(handler: LeafParserHandler, limits: { maxControlLine: number; maxPayload: number }) {
    this.#h = handler
    this.#maxControlLine = limits.maxControlLine
    this.#maxPayload = limits.maxPayload
  }

  get dead(): boolean {
    return this.#dead
  }

  #fail(kind: LeafParseErrorKind, detail: string): void {
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
        this.#fail(LeafParseError.MAX_CONTROL_LINE, `control line longer than ${this.#maxControlLine} bytes`)
        return
      }
      if (lf < 0) {
        this.#line.push(Buffer.from(chunk.subarray(i, n)))
        this.#lineLen += n - i
        return
      }
      let line: Buffer
      if (this.#lineLen === 0) line = chunk.subarray(i, lf)
      else {
        this.#line.push(chunk.subarray(i, lf))
        line = Buffer.concat(this.#line)
        this.#line = []
        this.#lineLen = 0
      }
      i = lf + 1
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1)
      this.#op(line.toString('latin1'))
    }
  }

  #takePayload(chunk: Buffer, i: number): number {
    const want = this.#need + 2 // payload + CRLF
    const avail = chunk.length - i
    if (this.#have === 0 && avail >= want) {
      if (chunk[i + this.#need] !== CR || chunk[i + this.#need + 1] !== LF) {
        this.#fail(LeafParseError.BAD_ARGS, 'message payload not followed by CRLF')
        return chunk.length
      }
      this.#deliver(chunk.subarray(i, i + this.#need))
      return i + want
    }
    if (this.#have === 0) this.#payload = Buffer.allocUnsafe(want)
    const take = Math.min(avail, want - this.#have)
    chunk.copy(this.#payload, this.#have, i, i + take)
    this.#have += take
    if (this.#have === want) {
      const p = this.#payload
      if (p[this.#need] !== CR || p[this.#need + 1] !== LF) {
        this.#fail(LeafParseError.BAD_ARGS, 'message payload not followed by CRLF')
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
    this.#h.onMsg(m.subject, m.reply, m.queues, m.hdrLen, payload)
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
          this.#fail(LeafParseError.BAD_ARGS, `${op} without a JSON object`)
          return
        }
        if (op === 'INFO') this.#h.onInfo(rest)
        else this.#h.onConnect(rest)
        return
      case 'LS+':
      case 'LS-':
        this.#sub(op, args(rest))
        return
      case 'LMSG':
      case 'HMSG':
        this.#msgArgs(op === 'HMSG', args(rest))
        return
      default:
        this.#fail(LeafParseError.UNKNOWN_OP, `unknown leafnode operation ${JSON.stringify(op.slice(0, 32))}`)
    }
  }

  /** `LS+ <subject> [<queue> <weight>]`, `LS- <subject> [<queue>]` (processLeafSub/processLeafUnsub). */
  #sub(op: string, a: string[]): void {
    if (op === 'LS+') {
      if (a.length !== 1 && a.length !== 3) return this.#fail(LeafParseError.BAD_ARGS, `LS+ with ${a.length} arguments`)
      if (a.length === 1) return this.#h.onSub(a[0] as string, undefined, 1)
      const w = size(a[2])
      if (w < 1 || w > 0xffffffff) return this.#fail(LeafParseError.BAD_ARGS, `LS+ queue weight ${JSON.stringify(a[2])} is not a positive integer`)
      return this.#h.onSub(a[0] as string, a[1], w)
    }
    if (a.length !== 1 && a.length !== 2) return this.#fail(LeafParseError.BAD_ARGS, `LS- with ${a.length} arguments`)
    this.#h.onUnsub(a[0] as string, a[1])
  }

  /** `LMSG <subj> [+ <reply> <q...> | \| <q...> | <reply>] [<hdr>] <size>` (processLeafMsgArgs, processLeafHeaderMsgArgs). */
  #msgArgs(hmsg: boolean, a: string[]): void {
    const min = hmsg ? 3 : 2
    if (a.length < min) return this.#fail(LeafParseError.BAD_ARGS, `${hmsg ? 'HMSG' : 'LMSG'} with ${a.length} arguments`)
    const total = size(a[a.length - 1])
    const hdrLen = hmsg ? size(a[a.length - 2]) : -1
    if (total < 0 || (hmsg && (hdrLen < 0 || hdrLen > total))) return this.#fail(LeafParseError.BAD_ARGS, 'message size is not a valid integer')
    if (total > this.#maxPayload) return this.#fail(LeafParseError.MAX_PAYLOAD, `message size ${total} exceeds max_payload ${this.#maxPayload}`)
    const mid = a.slice(1, a.length - (hmsg ? 2 : 1))
    let reply = ''
    let queues: string[] | undefined
    if (mid.length === 1) reply = mid[0] as string
    else if (mid.length > 1) {
      if (mid[0] === '+') {
        reply = mid[1] as string
        queues = mid.slice(2)
      } else if (mid[0] === '|') queues = mid.slice(1)
      else return this.#fail(LeafParseError.BAD_ARGS, `bad reply indicator ${JSON.stringify((mid[0] as string).slice(0, 16))}`)
    }
    this.#msg = { subject: a[0] as string, reply, queues, hdrLen }
    this.#need = total
    this.#have = 0
  }
}
