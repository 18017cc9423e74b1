// One network client connection: feeds socket bytes to the parser, applies CONNECT/auth,
// permissions and subscriptions, and decides what goes out: MSG frames and protocol replies go to
// its outbound queue (outbound.ts), flushed once per event-loop turn; a peer that falls too far
// behind is cut here as a slow consumer.
import { Parser } from './parser.js'
import { ParseError, type ParseErrorKind, type ParserHandler } from './parser-handler.js'
import { PROTO_ERR } from './errors.js'
import { isValidLiteralSubject, isValidSubject } from './subject.js'
import { Sub, type OutFrame, type SubClient, type SubOwner } from './subscription.js'
import type { Transport } from './transport.js'
import { Outbound } from './outbound.js'
import type { AuthResult as AuthOutcome, Permissions } from './auth.js'
import type { ProducerFlow, StallableClient } from './flow-control.js'
import type { MsgSender } from './types.js'

/** What a client needs from the server; implemented by the Broker. */
export interface ClientHost {
  readonly maxPayloadBytes: number
  readonly maxControlLineBytes: number
  readonly maxPendingBytes: number
  /** Per connection; 0 = unlimited. */
  readonly maxSubscriptions: number
  readonly authRequired: boolean
  info(client: Client): string
  authenticate(connect: ConnectOptions): AuthOutcome | undefined | Promise<AuthOutcome | undefined>
  /** Routes a message; returns whether anything received it. */
  route(from: Client | undefined, subject: string, reply: string, hdrLen: number, payload: Buffer): boolean
  noResponders(client: Client, reply: string): void
  addSub(sub: Sub): void
  unindexSub(sub: Sub): void
  dropFor(subject: string): boolean
  markDirty(client: Client): void
  /** Producer flow control (flow-control.ts). */
  readonly flow: ProducerFlow
  clientClosed(client: Client, reason: string): void
  countSlowConsumer(): void
}

export interface ConnectOptions {
  verbose?: boolean
  pedantic?: boolean
  echo?: boolean
  headers?: boolean
  no_responders?: boolean
  name?: string
  lang?: string
  version?: string
  user?: string
  pass?: string
  auth_token?: string
  protocol?: number
}

const CRLF = Buffer.from('\r\n')
const EMPTY = Buffer.alloc(0)
const PONG = Buffer.from('PONG\r\n')
const PING = Buffer.from('PING\r\n')
const OK = Buffer.from('+OK\r\n')

export class Client implements ParserHandler, SubClient, SubOwner, StallableClient, MsgSender {
  readonly cid: number
  readonly transport: Transport
  readonly parser: Parser
  readonly #host: ClientHost
  readonly subs = new Map<string, Sub>()
  readonly remoteAddress: string
  readonly remotePort: number
  readonly start = new Date()
  lastActivity = Date.now()

  // nats-server's defaults before (and under) CONNECT: verbose and pedantic until the client says otherwise.
  echo = true
  headers = false
  verbose = true
  pedantic = true
  noRespondersOpt = false
  name = ''
  lang = ''
  version = ''
  /** CONNECT `protocol`: 1 and up take async INFO (cluster connect_urls). */
  protocol = 0
  user = ''
  connected = false
  closed = false
  permissions: Permissions | undefined

  inMsgs = 0
  inBytes = 0
  outMsgs = 0
  outBytes = 0
  pingsOut = 0
  dropped = 0
  /** Times this client's reads were paused because a subscriber of its messages was behind. */
  stalls = 0
  /** Set during a read when a message went to a subscriber over the stall threshold. */
  stallTarget: Client | undefined
  dirty = false

  readonly #out = new Outbound()
  #closing = false
  /** Write-deadline bookkeeping: bytes the peer had taken at the last check, and when that changed. */
  #doneAtCheck = 0
  #progressAt = Date.now()

  constructor(host: ClientHost, cid: number, transport: Transport, remoteAddress: string, remotePort: number) {
    this.#host = host
    this.cid = cid
    this.transport = transport
    this.remoteAddress = remoteAddress
    this.remotePort = remotePort
    this.parser = new Parser(this, { maxControlLine: host.maxControlLineBytes, maxPayload: host.maxPayloadBytes })
  }

  /** Bytes queued here and in the transport. */
  get pendingBytes(): number {
    return this.#out.queued + this.transport.pendingBytes
  }

  /** `pendingBytes` without asking the transport (its backlog as of the last flush, which can only have shrunk). */
  get backlogBytes(): number {
    return this.#out.queued + this.#out.transportPending
  }

  pauseReads(): void {
    this.transport.pauseReads()
  }

  resumeReads(): void {
    this.transport.resumeReads()
  }

  /** Feeds received bytes; never throws (a failure ends this connection only). */
  feed(chunk: Buffer): void {
    if (this.closed) return
    this.lastActivity = Date.now()
    if (this.#held !== undefined) {
      this.#hold(chunk)
      return
    }
    try {
      this.parser.parse(chunk)
    } catch (err) {
      this.closeWithError(PROTO_ERR.UNKNOWN_OP, `internal error: ${(err as Error).message}`)
    }
    // Flow control acts between reads, as nats-server stalls its read loop after a read.
    const target = this.stallTarget
    if (target === undefined) this.#host.flow.clear(this)
    else {
      this.stallTarget = undefined
      if (this.#host.flow.stall(this, target)) this.stalls++
    }
  }

  // ---- outbound (the bytes live in outbound.ts) ---------------------------------------------

  #touch(): void {
    if (!this.dirty) {
      this.dirty = true
      this.#host.markDirty(this)
    }
  }

  /** Queues raw protocol bytes (INFO, PONG, -ERR ...). */
  sendRaw(bytes: Buffer): void {
    if (this.closed) return
    this.#out.raw(bytes)
    this.#touch()
  }

  /**
   * Queues bytes `start`..`end` of `base`, shared with other connections, without copying them;
   * consecutive slices of one slab join (Outbound.slice).
   */
  sendSlice(base: Buffer, start: number, end: number): void {
    if (this.closed) return
    this.#out.slice(base, start, end)
    this.#touch()
  }

  /**
   * Queues one message of another protocol (RESP, ...) in a single reservation, as `deliver` does:
   * `head` and `mid` copied, `body` copied when small and queued as a view when large, then `tail`.
   */
  sendMessage(head: Buffer, mid: Buffer, body: Buffer, tail: Buffer, viewFrom?: number): void {
    if (this.closed) return
    this.#out.message(head, mid, EMPTY, body, tail, viewFrom)
    this.#touch()
  }

  sendText(text: string): void {
    this.sendRaw(Buffer.from(text))
  }

  deliver(sub: Sub, frame: OutFrame): void {
    if (this.closed) return
    const hdr = frame.hdrLen >= 0 && this.headers
    const payload = frame.hdrLen >= 0 && !this.headers ? frame.payload.subarray(frame.hdrLen) : frame.payload
    const pre = frame.pre(hdr)
    const post = frame.post(hdr)
    const sid = sub.sidBytes
    const size = pre.length + sid.length + post.length + payload.length + 2
    const out = this.#out
    if (out.queued + out.transportPending + size > this.#host.maxPendingBytes && out.queued + this.transport.pendingBytes + size > this.#host.maxPendingBytes) {
      if (sub.drop) {
        this.dropped++
        return
      }
      this.slowConsumer()
      return
    }
    out.message(pre, sid, post, payload, undefined)
    this.outMsgs++
    this.outBytes += payload.length
    this.#touch()
  }

  /** Hands what is queued to the transport (called once per event-loop turn; `force`: everything, closing). */
  flush(force = false): void {
    this.dirty = false
    const out = this.#out
    if (this.closed && !out.hasChunks && out.queued === 0) return
    if (out.flush(this.transport, force) === 0) return
    if (out.transportPending > this.#host.maxPendingBytes) this.slowConsumer()
  }

  onDrain(): void {
    this.#out.transportPending = this.transport.pendingBytes
    if (this.#out.hasChunks && !this.dirty && !this.closed) {
      this.dirty = true
      this.#host.markDirty(this)
    }
  }

  /**
   * Cuts this client as a slow consumer when it has had bytes pending and the peer has taken none
   * of them for `deadlineMs` (nats-server's write_deadline). A client that is behind but draining
   * is not cut here: progress, not an empty queue, is what counts.
   */
  checkWriteDeadline(now: number, deadlineMs: number): void {
    const pending = this.transport.pendingBytes
    const done = this.transport.writtenBytes - pending
    if (pending === 0 || done !== this.#doneAtCheck) {
      this.#doneAtCheck = done
      this.#progressAt = now
    } else if (now - this.#progressAt > deadlineMs) this.slowConsumer()
  }

  // ---- closing --------------------------------------------------------------------------------

  slowConsumer(): void {
    if (this.closed || this.#closing) return
    this.#host.countSlowConsumer()
    this.closeWithError(PROTO_ERR.SLOW_CONSUMER, 'slow consumer')
  }

  /** Sends `-ERR '<text>'`, flushes and closes. */
  closeWithError(text: string, reason: string): void {
    if (this.closed || this.#closing) return
    // The final flush may find the socket over the limit; that must not re-enter here.
    this.#closing = true
    this.sendText(`-ERR '${text}'\r\n`)
    this.flush(true)
    this.#finish(reason)
    this.transport.end()
  }

  /** Closes without a message (server shutdown, peer gone). */
  close(reason: string): void {
    if (this.closed || this.#closing) return
    this.#closing = true
    this.flush(true)
    this.#finish(reason)
    this.transport.end()
  }

  /** The transport closed under us. */
  onTransportClosed(): void {
    if (this.closed) return
    this.#finish('client closed')
  }

  #finish(reason: string): void {
    this.closed = true
    for (const sub of this.subs.values()) {
      sub.closed = true
      this.#host.unindexSub(sub)
    }
    this.subs.clear()
    this.#out.clear()
    this.#host.clientClosed(this, reason)
  }

  // ---- protocol -------------------------------------------------------------------------------

  #ok(): void {
    if (this.verbose) this.sendRaw(OK)
  }

  /** Before CONNECT on a server that requires auth, anything else is a violation. */
  #authorized(): boolean {
    if (this.connected || !this.#host.authRequired) return true
    this.closeWithError(PROTO_ERR.AUTH_VIOLATION, 'operation before CONNECT')
    return false
  }

  onConnect(json: string): void {
    let c: ConnectOptions
    try {
      c = JSON.parse(json) as ConnectOptions
      if (c === null || typeof c !== 'object') throw new Error('not an object')
    } catch {
      this.close('bad CONNECT json')
      return
    }
    // Fields left out keep their current value, as nats-server unmarshals CONNECT over its defaults.
    if (typeof c.verbose === 'boolean') this.verbose = c.verbose
    if (typeof c.pedantic === 'boolean') this.pedantic = c.pedantic
    if (typeof c.echo === 'boolean') this.echo = c.echo
    if (typeof c.headers === 'boolean') this.headers = c.headers
    if (typeof c.no_responders === 'boolean') this.noRespondersOpt = c.no_responders
    if (typeof c.name === 'string') this.name = c.name
    if (typeof c.lang === 'string') this.lang = c.lang
    if (typeof c.version === 'string') this.version = c.version
    if (typeof c.protocol === 'number') this.protocol = c.protocol
    if (this.noRespondersOpt && !this.headers) {
      this.closeWithError(PROTO_ERR.NO_RESPONDERS_HEADERS, 'no_responders without headers')
      return
    }
    // Every CONNECT is checked, not only the first (as nats-server does).
    if (this.#host.authRequired) {
      const auth = this.#host.authenticate(c)
      if (auth instanceof Promise) {
        this.#awaitAuth(auth)
        return
      }
      if (!this.#applyAuth(auth)) return
    }
    this.connected = true
    this.#ok()
  }

  #applyAuth(auth: AuthOutcome | undefined): boolean {
    if (auth === undefined) {
      this.closeWithError(PROTO_ERR.AUTH_VIOLATION, 'authentication failed')
      return false
    }
    this.user = auth.user
    this.permissions = auth.permissions
    return true
  }

  // ---- CONNECT awaiting a password check (bcrypt runs in a worker thread) ----------------------
  // Nothing after CONNECT may run before it is settled: the parser stops after CONNECT and what
  // arrives meanwhile is held (bounded), then parsed in order once the check is done.

  /** Bytes received while CONNECT awaits its password check; undefined when not waiting. */
  #held: Buffer[] | undefined
  #heldBytes = 0

  #awaitAuth(auth: Promise<AuthOutcome | undefined>): void {
    this.parser.suspend()
    this.#held = []
    this.#heldBytes = 0
    void auth.then(
      (result) => {
        if (this.closed || !this.#applyAuth(result)) return
        this.connected = true
        this.#ok()
        const rest = this.parser.resume()
        const held = this.#held ?? []
        this.#held = undefined
        if (rest !== undefined) held.unshift(rest)
        for (const chunk of held) this.feed(chunk)
      },
      () => this.closeWithError(PROTO_ERR.AUTH_VIOLATION, 'authentication failed'),
    )
  }

  #hold(chunk: Buffer): void {
    this.#heldBytes += chunk.length
    if (this.#heldBytes > this.#host.maxPayloadBytes + this.#host.maxControlLineBytes) {
      this.closeWithError(PROTO_ERR.AUTH_VIOLATION, 'too much data before authentication finished')
      return
    }
    // The chunk may be a view of a reused read buffer.
    ;(this.#held as Buffer[]).push(Buffer.from(chunk))
  }

  /** MsgSender: may this client publish to `subject` (JetStream asks before publishing for it)? */
  canPublish(subject: string): boolean {
    return this.permissions === undefined || this.permissions.canPublish(subject)
  }

  onPub(subject: string, reply: string, hdrLen: number, payload: Buffer): void {
    if (!this.#authorized()) return
    if (hdrLen >= 0 && !this.headers) {
      // nats-server closes, without -ERR, a client that sends HPUB after saying it has no headers.
      this.close('HPUB without headers support')
      return
    }
    this.inMsgs++
    this.inBytes += payload.length
    // Like nats-server, pedantic mode reports a bad subject but still routes the message.
    if (this.pedantic && !isValidLiteralSubject(subject)) this.sendText(`-ERR '${PROTO_ERR.INVALID_PUB_SUBJECT}'\r\n`)
    if (this.permissions !== undefined && !this.permissions.canPublish(subject)) {
      this.sendText(`-ERR 'Permissions Violation for Publish to "${subject}"'\r\n`)
      return
    }
    this.#ok()
    const delivered = this.#host.route(this, subject, reply, hdrLen, payload)
    if (!delivered && reply !== '' && this.noRespondersOpt && this.headers) this.#host.noResponders(this, reply)
  }

  onSub(subject: string, queue: string | undefined, sid: string): void {
    if (!this.#authorized()) return
    if (!isValidSubject(subject)) {
      this.sendText(`-ERR '${PROTO_ERR.INVALID_SUBJECT}'\r\n`)
      return
    }
    if (this.permissions !== undefined && !this.permissions.canSubscribe(subject, queue)) {
      const q = queue === undefined ? '' : ` using queue "${queue}"`
      this.sendText(`-ERR 'Permissions Violation for Subscription to "${subject}"${q}'\r\n`)
      return
    }
    if (!this.subs.has(sid)) {
      const max = this.#host.maxSubscriptions
      if (max > 0 && this.subs.size >= max) {
        // nats-server refuses the SUB and keeps the connection.
        this.sendText(`-ERR '${PROTO_ERR.MAX_SUBS}'\r\n`)
        return
      }
      const sub = new Sub(this, subject, queue, sid, this, undefined)
      sub.drop = this.#host.dropFor(subject)
      sub.deny = this.permissions?.denyFilter(subject)
      this.subs.set(sid, sub)
      this.#host.addSub(sub)
    }
    this.#ok()
  }

  onUnsub(sid: string, max: number): void {
    if (!this.#authorized()) return
    const sub = this.subs.get(sid)
    if (sub !== undefined) {
      if (max > 0 && sub.delivered < max) sub.max = max
      else this.removeSub(sub)
    }
    this.#ok()
  }

  removeSub(sub: Sub): void {
    if (sub.closed) return
    sub.closed = true
    this.subs.delete(sub.sid)
    this.#host.unindexSub(sub)
  }

  onPing(): void {
    if (!this.#authorized()) return
    this.sendRaw(PONG)
  }

  onPong(): void {
    if (!this.#authorized()) return
    this.pingsOut = 0
  }

  sendPing(): void {
    this.pingsOut++
    this.sendRaw(PING)
  }

  onParseError(kind: ParseErrorKind, detail: string): void {
    if (!this.connected && this.#host.authRequired && kind === ParseError.UNKNOWN_OP) {
      this.closeWithError(PROTO_ERR.AUTH_VIOLATION, detail)
      return
    }
    switch (kind) {
      case ParseError.MAX_PAYLOAD:
        this.closeWithError(PROTO_ERR.MAX_PAYLOAD, detail)
        break
      case ParseError.MAX_CONTROL_LINE:
        this.closeWithError(PROTO_ERR.MAX_CONTROL_LINE, detail)
        break
      case ParseError.BAD_ARGS:
        // nats-server closes on malformed PUB/SUB arguments without sending -ERR.
        this.close(detail)
        break
      default:
        this.closeWithError(PROTO_ERR.UNKNOWN_OP, detail)
    }
  }
}

export { CRLF }
