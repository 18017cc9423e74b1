// One leafnode connection (solicited or accepted): feeds socket bytes to the LeafParser, enforces
// the handshake order (accepted: CONNECT first; solicited: the hub's INFO first), keeps what each
// side announced, batches outbound protocol once per event-loop turn and reports the rest to its owner.
import type { Socket } from 'node:net'
import type { IndexedSub } from '../sublist.js'
import { LeafCloseCodes, type LeafCloseCode } from './leaf-close-codes.js'
import { LeafParseError, LeafParser, type LeafParseErrorKind, type LeafParserHandler } from './leaf-parser.js'

/** What a leaf connection needs from the leafnode manager. */
export interface LeafHost {
  readonly maxControlLineBytes: number
  readonly maxPayloadBytes: number
  readonly maxPendingBytes: number
  /** Checks an accepted peer's CONNECT; returns why it is refused, or undefined when accepted. */
  checkConnect(leaf: Leaf, connect: Record<string, unknown>): { code: LeafCloseCode; reason: string; errText: string } | undefined
  /** The peer's INFO on a solicited connection (the first one completes the handshake). */
  leafInfo(leaf: Leaf, info: Record<string, unknown>): void
  leafSub(leaf: Leaf, subject: string, queue: string | undefined, weight: number): void
  leafUnsub(leaf: Leaf, subject: string, queue: string | undefined): void
  leafMsg(leaf: Leaf, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void
  leafClosed(leaf: Leaf, code: LeafCloseCode, reason: string): void
}

/** Interest a leaf announced, as the subject index stores it. */
export class LeafSub implements IndexedSub {
  readonly leaf: Leaf
  readonly subject: string
  readonly queue: string | undefined
  weight: number

  constructor(leaf: Leaf, subject: string, queue: string | undefined, weight: number) {
    this.leaf = leaf
    this.subject = subject
    this.queue = queue
    this.weight = weight
  }
}

const PING = Buffer.from('PING\r\n')
const PONG = Buffer.from('PONG\r\n')
const CRLF = Buffer.from('\r\n')

export function keyOf(subject: string, queue: string | undefined): string {
  return queue === undefined ? subject : `${subject} ${queue}`
}

export class Leaf implements LeafParserHandler {
  readonly lid: number
  readonly solicited: boolean
  /** The URL dialled (solicited leafs), credentials removed. */
  readonly url: string
  readonly remoteAddress: string
  readonly remotePort: number
  readonly start = new Date()
  remoteId = ''
  remoteName = ''
  remoteCluster = ''
  /**
   * This node plays the spoke on this connection (it dialled a hub, or the peer declared itself
   * the hub): what it hears here stays on this node and its own spokes, never goes to its routes.
   */
  spoke: boolean
  registered = false
  closed = false
  pingsOut = 0
  rttMs = -1
  #pingSentAt = 0
  inMsgs = 0
  outMsgs = 0
  inBytes = 0
  outBytes = 0
  /** What the peer announced (LS+), keyed `subject` or `subject queue`. */
  readonly subs = new Map<string, LeafSub>()
  /** What this node announced to the peer: the summed count per key (nats-server's smap). */
  readonly smap = new Map<string, number>()

  readonly #host: LeafHost
  readonly #socket: Socket
  readonly #parser: LeafParser
  #out: Buffer[] = []
  #queued = 0
  #scheduled = false
  readonly #flush = (): void => this.flush()

  constructor(host: LeafHost, lid: number, socket: Socket, solicited: boolean, url: string) {
    this.#host = host
    this.lid = lid
    this.#socket = socket
    this.solicited = solicited
    this.spoke = solicited
    this.url = url
    this.remoteAddress = socket.remoteAddress ?? ''
    this.remotePort = socket.remotePort ?? 0
    this.#parser = new LeafParser(this, { maxControlLine: host.maxControlLineBytes, maxPayload: host.maxPayloadBytes })
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.feed(chunk))
    socket.on('error', () => {})
    socket.on('close', () => this.#finish(LeafCloseCodes.CLOSED, 'connection closed by peer'))
  }

  get pendingBytes(): number {
    return this.#queued + this.#socket.writableLength
  }

  /** Never throws: a failure ends this connection only. */
  feed(chunk: Buffer): void {
    if (this.closed) return
    try {
      this.#parser.parse(chunk)
    } catch (err) {
      this.closeWith(LeafCloseCodes.PROTOCOL, `internal error: ${(err as Error).message}`)
    }
  }

  // ---- outbound -------------------------------------------------------------------------------

  send(bytes: Buffer): void {
    if (this.closed) return
    this.#out.push(bytes)
    this.#queued += bytes.length
    if (this.#queued + this.#socket.writableLength > this.#host.maxPendingBytes) {
      this.closeWith(LeafCloseCodes.SLOW, `more than ${this.#host.maxPendingBytes} bytes pending`)
      return
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flush)
    }
  }

  sendText(text: string): void {
    this.send(Buffer.from(text))
  }

  /**
   * Changes what this node announced for `key` by `delta` and sends LS+/LS- when the peer must
   * hear of it: plain interest when it appears or disappears, queue interest on every weight change.
   */
  adjust(subject: string, queue: string | undefined, delta: number): void {
    const key = keyOf(subject, queue)
    const n = this.smap.get(key) ?? 0
    const m = n + delta
    if (m > 0) this.smap.set(key, m)
    else this.smap.delete(key)
    if (!this.registered) return
    if (m > 0 && (queue !== undefined || n <= 0)) this.sendText(queue === undefined ? `LS+ ${key}\r\n` : `LS+ ${key} ${m}\r\n`)
    else if (m <= 0 && n > 0) this.sendText(`LS- ${key}\r\n`)
  }

  /** Everything in smap as LS+ lines (sent once at registration). */
  smapLines(): string {
    let s = ''
    for (const [key, n] of this.smap) s += key.includes(' ') ? `LS+ ${key} ${n}\r\n` : `LS+ ${key}\r\n`
    return s
  }

  /** One LMSG/HMSG; `queues` are the groups this peer should serve (`+ reply q...` / `| q...`). */
  sendMsg(subject: string, reply: string, queues: readonly string[] | undefined, hdrLen: number, payload: Buffer): void {
    let mid = ''
    if (queues !== undefined && queues.length > 0) mid = reply === '' ? ` | ${queues.join(' ')}` : ` + ${reply} ${queues.join(' ')}`
    else if (reply !== '') mid = ` ${reply}`
    const head = hdrLen >= 0 ? `HMSG ${subject}${mid} ${hdrLen} ${payload.length}\r\n` : `LMSG ${subject}${mid} ${payload.length}\r\n`
    this.send(Buffer.from(head, 'latin1'))
    // The payload is a view of a socket chunk, which is never reused: it can wait for the flush.
    if (payload.length > 0) this.send(payload)
    this.send(CRLF)
    this.outMsgs++
    this.outBytes += payload.length
  }

  flush(): void {
    this.#scheduled = false
    if (this.#out.length === 0 || this.closed) return
    const out = this.#out
    this.#out = []
    this.#queued = 0
    this.#socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out))
  }

  sendPing(): void {
    this.pingsOut++
    if (this.#pingSentAt === 0) this.#pingSentAt = performance.now()
    this.send(PING)
  }

  // ---- closing --------------------------------------------------------------------------------

  /** Sends `-ERR` when given, flushes and closes; reports `code` to the host once. */
  closeWith(code: LeafCloseCode, reason: string, errText?: string): void {
    if (this.closed) return
    if (errText !== undefined) this.#out.push(Buffer.from(`-ERR '${errText}'\r\n`))
    this.flush()
    this.#finish(code, reason)
    this.#socket.end()
    setTimeout(() => this.#socket.destroy(), 1000).unref()
  }

  destroy(): void {
    this.#finish(LeafCloseCodes.CLOSED, 'server shutdown')
    this.#socket.destroy()
  }

  #finish(code: LeafCloseCode, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.#out = []
    this.#host.leafClosed(this, code, reason)
  }

  // ---- protocol -------------------------------------------------------------------------------

  #ready(op: string): boolean {
    if (this.registered) return true
    if (!this.solicited) this.closeWith(LeafCloseCodes.AUTH, `${op} before CONNECT`, 'Authorization Violation')
    else this.closeWith(LeafCloseCodes.PROTOCOL, `${op} before INFO`)
    return false
  }

  #json(text: string, what: string): Record<string, unknown> | undefined {
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch {
      v = undefined
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.closeWith(LeafCloseCodes.PROTOCOL, `${what} is not a JSON object`)
      return undefined
    }
    return v as Record<string, unknown>
  }

  onConnect(json: string): void {
    if (this.solicited || this.registered) return
    const c = this.#json(json, 'CONNECT')
    if (c === undefined) return
    const refused = this.#host.checkConnect(this, c)
    if (refused !== undefined) this.closeWith(refused.code, refused.reason, refused.errText)
  }

  onInfo(json: string): void {
    // An accepting side never needs the peer's INFO (nats-server's newer spokes may send one).
    if (!this.solicited) return
    const info = this.#json(json, 'INFO')
    if (info === undefined) return
    this.#host.leafInfo(this, info)
  }

  onPing(): void {
    if (!this.solicited && !this.registered) {
      this.closeWith(LeafCloseCodes.AUTH, 'PING before CONNECT', 'Authorization Violation')
      return
    }
    this.send(PONG)
  }

  onPong(): void {
    this.pingsOut = 0
    if (this.#pingSentAt !== 0) {
      this.rttMs = performance.now() - this.#pingSentAt
      this.#pingSentAt = 0
    }
  }

  onOk(): void {}

  onErr(text: string): void {
    const t = text.slice(0, 200)
    if (/authoriz|authentic/i.test(t)) this.closeWith(LeafCloseCodes.AUTH, `peer sent -ERR ${JSON.stringify(t)}`)
    else if (/loop detected/i.test(t)) this.closeWith(LeafCloseCodes.LOOP, `peer sent -ERR ${JSON.stringify(t)}`)
    else this.closeWith(LeafCloseCodes.CLOSED, `peer sent -ERR ${JSON.stringify(t)}`)
  }

  onSub(subject: string, queue: string | undefined, weight: number): void {
    if (!this.#ready('LS+')) return
    this.#host.leafSub(this, subject, queue, weight)
  }

  onUnsub(subject: string, queue: string | undefined): void {
    if (!this.#ready('LS-')) return
    this.#host.leafUnsub(this, subject, queue)
  }

  onMsg(subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    if (!this.#ready('LMSG')) return
    this.inMsgs++
    this.inBytes += payload.length
    this.#host.leafMsg(this, subject, reply, queues, hdrLen, payload)
  }

  onParseError(kind: LeafParseErrorKind, detail: string): void {
    switch (kind) {
      case LeafParseError.MAX_CONTROL_LINE:
        this.closeWith(LeafCloseCodes.MAX_CONTROL_LINE, detail, 'maximum control line exceeded')
        break
      case LeafParseError.MAX_PAYLOAD:
        this.closeWith(LeafCloseCodes.MAX_PAYLOAD, detail, 'Maximum Payload Violation')
        break
      default:
        this.closeWith(LeafCloseCodes.PROTOCOL, detail, 'Unknown Protocol Operation')
    }
  }
}
