// One route connection (solicited or accepted): feeds socket bytes to the RouteParser, enforces
// the handshake order (CONNECT first on accepted routes, INFO before interest and messages),
// batches outbound protocol once per event-loop turn and reports everything else to its owner.
import type { Socket } from 'node:net'
import { RouteCloseCodes, type RouteCloseCode } from './close-codes.js'
import { RouteParseError, RouteParser, type RouteParseErrorKind, type RouteParserHandler } from './route-parser.js'

/** What a route needs from the route manager. */
export interface RouteHost {
  readonly maxControlLineBytes: number
  readonly maxPayloadBytes: number
  readonly maxPendingBytes: number
  /** Checks the peer's CONNECT (accepted routes); returns a close code or undefined when accepted. */
  checkConnect(route: Route, connect: Record<string, unknown>): { code: RouteCloseCode; reason: string; errText: string } | undefined
  /** The peer's INFO (first one registers the route; later ones are gossip or updates). */
  routeInfo(route: Route, info: Record<string, unknown>): void
  remoteSub(route: Route, subject: string, queue: string | undefined, weight: number): void
  remoteUnsub(route: Route, subject: string, queue: string | undefined): void
  remoteMsg(route: Route, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void
  routeClosed(route: Route, code: RouteCloseCode, reason: string): void
}

const PING = Buffer.from('PING\r\n')
const PONG = Buffer.from('PONG\r\n')
/** Payloads from this size on are written by reference instead of copied into the arena. */
const BIG_PAYLOAD = 8 * 1024
const ARENA_BYTES = 64 * 1024

export class Route implements RouteParserHandler {
  readonly rid: number
  readonly solicited: boolean
  /** The URL dialled (solicited routes), for /routez and re-dials. */
  readonly url: string
  readonly remoteAddress: string
  readonly remotePort: number
  /** The connection runs over TLS (cluster.tls). */
  readonly tls: boolean
  readonly start = new Date()
  remoteId = ''
  remoteName = ''
  /** The peer's first INFO. */
  info: Record<string, unknown> | undefined
  registered = false
  connectReceived = false
  closed = false
  pingsOut = 0
  inMsgs = 0
  outMsgs = 0
  inBytes = 0
  outBytes = 0
  /** Remote interest keyed `subject` or `subject queue`, as announced by RS+. */
  readonly remoteSubs = new Map<string, { subject: string; queue: string | undefined; weight: number }>()

  readonly #host: RouteHost
  readonly #socket: Socket
  readonly #parser: RouteParser
  #out: Buffer[] = []
  #queued = 0
  #scheduled = false
  /** One entry per PING in flight, in order; sync() callers wait on theirs. */
  readonly #pongWaiters: ((() => void) | undefined)[] = []
  /** Outbound arena: small messages are copied in, one contiguous write per turn. */
  #arena: Buffer | undefined
  #arenaStart = 0
  #arenaPos = 0
  readonly #flush = (): void => this.flush()

  constructor(host: RouteHost, rid: number, socket: Socket, solicited: boolean, url: string) {
    this.#host = host
    this.rid = rid
    this.#socket = socket
    this.solicited = solicited
    this.url = url
    this.remoteAddress = socket.remoteAddress ?? ''
    this.remotePort = socket.remotePort ?? 0
    this.tls = (socket as Socket & { encrypted?: boolean }).encrypted === true
    this.#parser = new RouteParser(this, { maxControlLine: host.maxControlLineBytes, maxPayload: host.maxPayloadBytes })
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.feed(chunk))
    socket.on('error', () => {})
    socket.on('close', () => this.#finish(RouteCloseCodes.CLOSED, 'connection closed by peer'))
  }

  get pendingBytes(): number {
    return this.#queued + this.#socket.writableLength
  }

  /** Never throws: a failure ends this route only. */
  feed(chunk: Buffer): void {
    if (this.closed) return
    try {
      this.#parser.parse(chunk)
    } catch (err) {
      this.closeWith(RouteCloseCodes.PROTOCOL, `internal error: ${(err as Error).message}`)
    }
  }

  // ---- outbound -------------------------------------------------------------------------------

  send(bytes: Buffer): void {
    if (this.closed) return
    if (bytes.length >= BIG_PAYLOAD) {
      this.#seal()
      this.#out.push(bytes)
    } else {
      const out = this.#reserve(bytes.length)
      out.set(bytes, this.#arenaPos)
      this.#arenaPos += bytes.length
    }
    this.#queued += bytes.length
    this.#afterQueue()
  }

  #afterQueue(): void {
    if (this.#queued + this.#socket.writableLength > this.#host.maxPendingBytes) {
      this.closeWith(RouteCloseCodes.SLOW, `more than ${this.#host.maxPendingBytes} bytes pending`)
      return
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flush)
    }
  }

  /** Room for `n` more bytes in the arena (a fresh one when the current is full). */
  #reserve(n: number): Buffer {
    const arena = this.#arena
    if (arena !== undefined && arena.length - this.#arenaPos >= n) return arena
    this.#seal()
    const fresh = Buffer.allocUnsafe(Math.max(ARENA_BYTES, n))
    this.#arena = fresh
    this.#arenaStart = 0
    this.#arenaPos = 0
    return fresh
  }

  /** Moves what the arena holds since the last seal into the outbound list. */
  #seal(): void {
    if (this.#arena !== undefined && this.#arenaPos > this.#arenaStart) {
      this.#out.push(this.#arena.subarray(this.#arenaStart, this.#arenaPos))
      this.#arenaStart = this.#arenaPos
    }
  }

  sendText(text: string): void {
    this.send(Buffer.from(text))
  }

  /** One RMSG/HMSG; `queues` are the groups this peer should serve (nats-server's `+ reply q...` / `| q...`). */
  sendMsg(subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    let mid = ''
    if (queues !== undefined && queues.length > 0) mid = reply === '' ? ` | ${queues.join(' ')}` : ` + ${reply} ${queues.join(' ')}`
    else if (reply !== '') mid = ` ${reply}`
    if (this.closed) return
    const head = hdrLen >= 0 ? `HMSG $G ${subject}${mid} ${hdrLen} ${payload.length}\r\n` : `RMSG $G ${subject}${mid} ${payload.length}\r\n`
    // Subjects and replies are ASCII on the wire (the parsers refuse anything else).
    const headLen = head.length
    const n = payload.length
    if (n >= BIG_PAYLOAD) {
      // The payload is a view of a socket chunk, which is never reused: it waits for the flush by reference.
      let out = this.#reserve(headLen)
      this.#arenaPos += out.write(head, this.#arenaPos, 'latin1')
      this.#seal()
      this.#out.push(payload)
      out = this.#reserve(2)
      out[this.#arenaPos] = 13
      out[this.#arenaPos + 1] = 10
      this.#arenaPos += 2
    } else {
      const out = this.#reserve(headLen + n + 2)
      let p = this.#arenaPos + out.write(head, this.#arenaPos, 'latin1')
      if (n < 32) for (let i = 0; i < n; i++) out[p + i] = payload[i] as number
      else out.set(payload, p)
      p += n
      out[p] = 13
      out[p + 1] = 10
      this.#arenaPos = p + 2
    }
    this.#queued += headLen + n + 2
    this.outMsgs++
    this.outBytes += n
    this.#afterQueue()
  }

  flush(): void {
    this.#scheduled = false
    if (this.closed) return
    this.#seal()
    if (this.#out.length === 0) return
    const out = this.#out
    this.#out = []
    this.#queued = 0
    // The arena's written part now belongs to the socket; later messages go after it.
    if (out.length === 1) this.#socket.write(out[0] as Buffer)
    else {
      this.#socket.cork()
      for (const b of out) this.#socket.write(b)
      this.#socket.uncork()
    }
  }

  sendPing(): void {
    this.pingsOut++
    this.#pongWaiters.push(undefined)
    this.send(PING)
  }

  /**
   * Resolves on the PONG to a PING sent now. The peer answers in order, so everything it had
   * sent before (RS+/RS- from its clients' earlier SUBs) has been processed here by then.
   * Resolves at once if the route closes.
   */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.pingsOut++
      this.#pongWaiters.push(resolve)
      this.send(PING)
    })
  }

  // ---- closing --------------------------------------------------------------------------------

  /** Sends `-ERR` when given, flushes and closes; reports `code` to the host once. */
  closeWith(code: RouteCloseCode, reason: string, errText?: string): void {
    if (this.closed) return
    if (errText !== undefined) this.#out.push(Buffer.from(`-ERR '${errText}'\r\n`))
    this.flush()
    this.#finish(code, reason)
    this.#socket.end()
    // A peer that never closes its side must not hold the socket open.
    setTimeout(() => this.#socket.destroy(), 1000).unref()
  }

  destroy(): void {
    this.#finish(RouteCloseCodes.CLOSED, 'server shutdown')
    this.#socket.destroy()
  }

  #finish(code: RouteCloseCode, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.#out = []
    this.#arena = undefined
    for (const w of this.#pongWaiters.splice(0)) w?.()
    this.#host.routeClosed(this, code, reason)
  }

  // ---- protocol -------------------------------------------------------------------------------

  /** Accepted routes must start with CONNECT; interest and messages need the peer's INFO first. */
  #ready(op: string): boolean {
    if (!this.solicited && !this.connectReceived) {
      this.closeWith(RouteCloseCodes.AUTH, `${op} before CONNECT`, 'Authorization Violation')
      return false
    }
    if (!this.registered) {
      this.closeWith(RouteCloseCodes.PROTOCOL, `${op} before INFO`)
      return false
    }
    return true
  }

  onConnect(json: string): void {
    if (this.solicited || this.connectReceived) return
    let c: unknown
    try {
      c = JSON.parse(json)
    } catch {
      c = undefined
    }
    if (c === null || typeof c !== 'object' || Array.isArray(c)) {
      this.closeWith(RouteCloseCodes.PROTOCOL, 'CONNECT is not a JSON object')
      return
    }
    const refused = this.#host.checkConnect(this, c as Record<string, unknown>)
    if (refused !== undefined) {
      this.closeWith(refused.code, refused.reason, refused.errText)
      return
    }
    this.connectReceived = true
  }

  onInfo(json: string): void {
    if (!this.solicited && !this.connectReceived) {
      this.closeWith(RouteCloseCodes.AUTH, 'INFO before CONNECT', 'Authorization Violation')
      return
    }
    let info: unknown
    try {
      info = JSON.parse(json)
    } catch {
      info = undefined
    }
    if (info === null || typeof info !== 'object' || Array.isArray(info) || typeof (info as Record<string, unknown>).server_id !== 'string') {
      this.closeWith(RouteCloseCodes.PROTOCOL, 'INFO is not a JSON object with a server_id')
      return
    }
    this.#host.routeInfo(this, info as Record<string, unknown>)
  }

  onPing(): void {
    if (!this.solicited && !this.connectReceived) {
      this.closeWith(RouteCloseCodes.AUTH, 'PING before CONNECT', 'Authorization Violation')
      return
    }
    this.send(PONG)
  }

  onPong(): void {
    this.pingsOut = 0
    this.#pongWaiters.shift()?.()
  }

  onOk(): void {}

  onErr(text: string): void {
    this.closeWith(RouteCloseCodes.CLOSED, `peer sent -ERR ${JSON.stringify(text.slice(0, 200))}`)
  }

  onSub(account: string, subject: string, queue: string | undefined, weight: number): void {
    if (!this.#ready('RS+')) return
    // Only the global account exists here; other accounts' interest is not ours to serve.
    if (account !== '$G') return
    this.#host.remoteSub(this, subject, queue, weight)
  }

  onUnsub(account: string, subject: string, queue: string | undefined): void {
    if (!this.#ready('RS-')) return
    if (account !== '$G') return
    this.#host.remoteUnsub(this, subject, queue)
  }

  onMsg(account: string, subject: string, reply: string, queues: string[] | undefined, hdrLen: number, payload: Buffer): void {
    if (!this.#ready('RMSG')) return
    this.inMsgs++
    this.inBytes += payload.length
    if (account !== '$G') return
    this.#host.remoteMsg(this, subject, reply, queues, hdrLen, payload)
  }

  onParseError(kind: RouteParseErrorKind, detail: string): void {
    switch (kind) {
      case RouteParseError.MAX_CONTROL_LINE:
        this.closeWith(RouteCloseCodes.MAX_CONTROL_LINE, detail, 'maximum control line exceeded')
        break
      case RouteParseError.MAX_PAYLOAD:
        this.closeWith(RouteCloseCodes.MAX_PAYLOAD, detail, 'Maximum Payload Violation')
        break
      default:
        this.closeWith(RouteCloseCodes.PROTOCOL, detail, 'Unknown Protocol Operation')
    }
  }
}
