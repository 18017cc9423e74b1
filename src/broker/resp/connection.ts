// One Redis client connection. It is a broker Client (client.ts) for everything outbound: the
// batched per-turn flush, max_pending and write-deadline slow-consumer policy, /connz, producer
// flow control and shutdown are the NATS client's. Inbound it replaces the NATS parser with the
// RESP parser; commands run in commands.ts; subscriptions go into the broker's subject index.
import { Client } from '../client.js'
import { BIG_PAYLOAD } from '../outbound.js'
import type { Transport } from '../transport.js'
import type { OutFrame, Sub } from '../subscription.js'
import type { AuthResult } from '../auth.js'
import { channelToSubject } from './channel.js'
import { runCommand } from './commands.js'
import * as enc from './encode.js'
import { RespErrorCodes } from './errors.js'
import { planPattern } from './glob.js'
import { RESP_DEFAULTS } from './options.js'
import { RespParser, type RespSink } from './parser.js'
import { GlobFilter, RespSub, SubKind, subKey, type SubKindValue } from './sub.js'
import type { RespFrontEnd } from './front-end.js'

const NONE = Buffer.alloc(0)

export const ReplyMode = { ON: 0, OFF: 1, SKIP: 2 } as const

const KIND_NAMES = [
  ['subscribe', 'unsubscribe'],
  ['psubscribe', 'punsubscribe'],
  ['ssubscribe', 'sunsubscribe'],
] as const

/** Byte equality; a loop for the short names and channels a pipeline repeats beats a native call. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  const n = a.length
  if (n !== b.length) return false
  if (n > 64) return a.equals(b)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A lone subscriber's push body of at least this many bytes is queued as a view of the payload
 * instead of copied into its buffer: a backed-up subscriber otherwise costs a fresh output buffer
 * per 256 KiB sent, and that external memory churn drives V8's full collections.
 */
const LONE_VIEW_FROM = 2048

export class RespConnection extends Client implements RespSink {
  readonly front: RespFrontEnd
  readonly #parser: RespParser
  resp3 = false
  authenticated: boolean
  /** CLIENT REPLY: ON, OFF, or SKIP (the next command's reply only). */
  replyMode: number = ReplyMode.ON
  #skipThis = false
  counts = [0, 0, 0]
  /** The last command's name, for CLIENT LIST `cmd=`. */
  lastCommand = 'NULL'
  libName = ''
  libVersion = ''
  /**
   * Pushes to this connection wait here while one of its own commands runs (a PUBLISH to a channel
   * it is subscribed to), so its reply comes first, as Redis 7.2+ orders them.
   */
  #deferred: Buffer[] | undefined
  #deferring = false
  /** Input held while a password check runs (bcrypt in the broker's worker pool). */
  #held: Buffer[] | undefined
  #heldBytes = 0
  #released = false
  /** The routed message (OutFrame.seq) whose channel copy this connection has sent (see deliver). */
  #channelSeq = 0
  #lastName: Buffer = Buffer.alloc(0)
  #lastNameText = ''
  // One-entry cache of the last channel published to.
  #lastChannel: Buffer = Buffer.alloc(0)
  #lastSubject = ''

  constructor(front: RespFrontEnd, cid: number, transport: Transport, ip: string, port: number) {
    super(front.broker, cid, transport, ip, port)
    this.front = front
    const b = front.broker
    this.#parser = new RespParser(this, { maxInlineBytes: RESP_DEFAULTS.maxInlineBytes, maxBulkBytes: front.options.maxBulkBytes, maxPayloadBytes: b.maxPayloadBytes, maxArgs: front.options.maxArgs })
    this.authenticated = !b.authRequired
    this.connected = true
    this.lang = 'resp'
    this.version = '2'
    this.echo = true
    this.headers = false
    this.verbose = false
    this.pedantic = false
  }

  /** The lower-cased command name; a pipeline usually repeats one, so the last is remembered. */
  commandName(raw: Buffer): string {
    if (!sameBytes(raw, this.#lastName)) {
      this.#lastName = Buffer.from(raw)
      this.#lastNameText = raw.toString('latin1').toLowerCase()
    }
    return this.#lastNameText
  }

  get restricted(): boolean {
    return !this.authenticated
  }

  get subscriptionCount(): number {
    return (this.counts[0] as number) + (this.counts[1] as number) + (this.counts[2] as number)
  }

  // ---- inbound -------------------------------------------------------------------------------

  override feed(chunk: Buffer): void {
    if (this.closed) return
    this.lastActivity = Date.now()
    if (this.#held !== undefined) {
      this.#heldBytes += chunk.length
      if (this.#heldBytes > this.front.broker.maxPayloadBytes * 2) this.close('too much input while authenticating')
      else this.#held.push(Buffer.from(chunk))
      return
    }
    try {
      this.#parser.push(chunk)
    } catch (err) {
      this.front.broker.logger.error({ err, cid: this.cid }, 'resp command failed')
      this.sendRaw(enc.error(`ERR internal error`))
      this.close(`internal error: ${(err as Error).message}`)
    }
    const flow = this.front.broker.flow
    const target = this.stallTarget
    if (target === undefined) flow.clear(this)
    else {
      this.stallTarget = undefined
      if (flow.stall(this, target)) this.stalls++
    }
  }

  onCommand(args: Buffer[]): void {
    if (this.closed) return
    this.#skipThis = this.replyMode === ReplyMode.SKIP
    if (this.#skipThis) this.replyMode = ReplyMode.ON
    this.#deferring = true
    try {
      runCommand(this, args)
    } finally {
      this.#skipThis = false
      if (this.#held === undefined) this.#endDeferral()
    }
  }

  onProtocolError(message: string): void {
    this.sendRaw(enc.error(`ERR ${message}`))
    this.close(`${RespErrorCodes.PROTOCOL}: ${message}`)
  }

  #endDeferral(): void {
    this.#deferring = false
    const d = this.#deferred
    if (d === undefined) return
    this.#deferred = undefined
    for (const b of d) this.sendRaw(b)
  }

  /** A command reply (subject to CLIENT REPLY OFF/SKIP). */
  reply(bytes: Buffer): void {
    if (this.replyMode === ReplyMode.OFF || this.#skipThis) return
    this.sendRaw(bytes)
  }

  replyError(text: string): void {
    this.reply(enc.error(text))
  }

  /** A pub/sub notification: sent whatever CLIENT REPLY says. */
  push(bytes: Buffer): void {
    this.sendRaw(bytes)
  }

  /** Stops reading after the current command (QUIT). */
  stopReading(): void {
    this.#parser.stop()
  }

  // ---- authentication ----------------------------------------------------------------------------

  /** Checks credentials with the broker's users; `done` runs once, possibly after a bcrypt check. */
  authenticate(user: string, pass: string, done: (ok: boolean) => void): void {
    const outcome = this.front.broker.authenticate({ user, pass, auth_token: pass })
    if (!(outcome instanceof Promise)) {
      done(this.#applyAuth(outcome))
      return
    }
    this.#parser.suspend()
    this.#held = []
    this.#heldBytes = 0
    const settle = (r: AuthResult | undefined): void => {
      if (this.closed) return
      done(this.#applyAuth(r))
      this.#endDeferral()
      const held = this.#held ?? []
      this.#held = undefined
      const rest = this.#parser.resume()
      if (rest !== undefined) held.unshift(rest)
      for (const chunk of held) this.feed(chunk)
    }
    void outcome.then(settle, () => settle(undefined))
  }

  #applyAuth(r: AuthResult | undefined): boolean {
    if (r === undefined) return false
    this.user = r.user === '' ? 'default' : r.user
    this.permissions = r.permissions
    this.authenticated = true
    return true
  }

  // ---- pub/sub -------------------------------------------------------------------------------------

  subscribe(names: readonly Buffer[], kind: SubKindValue): void {
    const broker = this.front.broker
    const perms = this.permissions
    const plans = names.map((n) => (kind === SubKind.PATTERN ? planPattern(n) : { subject: channelToSubject(n), exact: true }))
    // All or nothing, as Redis's ACL check refuses the whole command.
    if (perms !== undefined) {
      for (let i = 0; i < plans.length; i++) {
        if (!perms.canSubscribe((plans[i] as { subject: string }).subject, undefined)) {
          this.replyError(`NOPERM User ${this.user} has no permissions to access the '${(names[i] as Buffer).toString()}' channel`)
          return
        }
      }
    }
    const word = KIND_NAMES[kind][0]
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as Buffer
      const plan = plans[i] as { subject: string; exact: boolean }
      const key = subKey(kind, name)
      if (!this.subs.has(key)) {
        const max = broker.maxSubscriptions
        if (max > 0 && this.subs.size >= max) {
          this.replyError('ERR maximum subscriptions exceeded')
          continue
        }
        const sub = new RespSub(this, kind, Buffer.from(name), key, plan.subject)
        sub.drop = broker.dropFor(plan.subject)
        const deny = perms?.denyFilter(plan.subject)
        sub.deny = plan.exact ? deny : new GlobFilter(this.front, sub.name, deny)
        this.subs.set(key, sub)
        broker.addSub(sub)
        this.counts[kind] = (this.counts[kind] as number) + 1
        this.front.count(this.front.countsFor(kind), key.slice(1), 1)
      }
      this.push(enc.subscription(word, name, kind === SubKind.SHARD ? (this.counts[2] as number) : this.subscriptionCount - (this.counts[2] as number), this.resp3))
    }
  }

  unsubscribe(names: readonly Buffer[], kind: SubKindValue): void {
    const word = KIND_NAMES[kind][1]
    const count = (): number => (kind === SubKind.SHARD ? (this.counts[2] as number) : this.subscriptionCount - (this.counts[2] as number))
    if (names.length === 0) {
      const all: RespSub[] = []
      for (const s of this.subs.values()) if ((s as RespSub).kind === kind) all.push(s as RespSub)
      if (all.length === 0) this.push(enc.subscription(word, undefined, count(), this.resp3))
      for (const s of all) {
        this.#drop(s)
        this.push(enc.subscription(word, s.name, count(), this.resp3))
      }
      return
    }
    for (const name of names) {
      const s = this.subs.get(subKey(kind, name)) as RespSub | undefined
      if (s !== undefined) this.#drop(s)
      this.push(enc.subscription(word, name, count(), this.resp3))
    }
  }

  /** Drops every subscription without notifications (RESET). */
  unsubscribeAll(): void {
    for (const s of [...this.subs.values()]) this.#drop(s as RespSub)
  }

  #drop(s: RespSub): void {
    if (s.closed) return
    this.removeSub(s)
    this.counts[s.kind] = (this.counts[s.kind] as number) - 1
    this.front.count(this.front.countsFor(s.kind), s.sid.slice(1), -1)
  }

  publish(channel: Buffer, payload: Buffer): void {
    if (!sameBytes(channel, this.#lastChannel)) {
      this.#lastChannel = Buffer.from(channel)
      this.#lastSubject = channelToSubject(channel)
    }
    const subject = this.#lastSubject
    if (this.permissions !== undefined && !this.permissions.canPublish(subject)) {
      this.replyError(`NOPERM User ${this.user} has no permissions to access the '${channel.toString()}' channel`)
      return
    }
    this.inMsgs++
    this.inBytes += payload.length
    const broker = this.front.broker
    this.reply(enc.integer(broker.routeCounting(this, subject, '', -1, payload)))
  }

  // ---- outbound --------------------------------------------------------------------------------

  override deliver(sub: Sub, frame: OutFrame): void {
    if (this.closed) return
    const s = sub as RespSub
    // Redis sends a client's `message` before its `pmessage`s for one publish; the index may list
    // the pattern first, so the channel copy goes out with the first pattern copy, and only once.
    if (s.kind === SubKind.CHANNEL) {
      if (this.#channelSeq === frame.seq) return
      this.#channelSeq = frame.seq
    } else if (s.kind === SubKind.PATTERN && this.counts[0] !== 0 && this.#channelSeq !== frame.seq) {
      const ch = this.subs.get(`${SubKind.CHANNEL}${this.front.channelOf(frame.subject).toString('latin1')}`)
      if (ch !== undefined && !ch.closed && (ch.deny === undefined || !ch.deny.denies(frame.subject))) {
        this.#channelSeq = frame.seq
        this.#write(ch as RespSub, frame)
      }
    }
    this.#write(s, frame)
  }

  #write(s: RespSub, frame: OutFrame): void {
    const resp3 = this.resp3
    const body = frame.hdrLen >= 0 ? frame.payload.subarray(frame.hdrLen) : frame.payload
    const head = s.kind === SubKind.CHANNEL ? (resp3 ? enc.MESSAGE3 : enc.MESSAGE2) : s.kind === SubKind.PATTERN ? ((resp3 ? s.head3 : s.head2) as Buffer) : resp3 ? enc.SMESSAGE3 : enc.SMESSAGE2
    const pre = this.front.preOf(head, frame.subject, body.length)
    const size = pre.length + body.length + 2
    const max = this.front.broker.maxPendingBytes
    if (this.backlogBytes + size > max && this.pendingBytes + size > max) {
      if (s.drop) this.dropped++
      else this.slowConsumer()
      return
    }
    if (this.#deferring) (this.#deferred ??= []).push(Buffer.concat([pre, body, enc.CRLF]))
    else {
      // A push shared by a fan-out is queued as a view of one copy; large bodies as views of the
      // payload (outbound.ts); a lone subscriber's push is copied into its buffer.
      const whole = body.length < BIG_PAYLOAD ? this.front.wholeOf(frame.seq, frame.fanout, pre, body) : undefined
      if (whole !== undefined) this.sendSlice(whole.base, whole.start, whole.start + whole.whole.length)
      else this.sendMessage(pre, NONE, body, enc.CRLF, LONE_VIEW_FROM)
    }
    this.outMsgs++
    this.outBytes += body.length
  }

  override sendPing(): void {
    // Redis clients are not pinged by the server.
  }

  /** Slow consumer and other broker-side closes: Redis closes such clients without a message. */
  override closeWithError(_text: string, reason: string): void {
    this.close(reason)
  }

  override close(reason: string): void {
    if (this.closed) return
    this.#parser.stop()
    this.#release()
    super.close(reason)
  }

  override onTransportClosed(): void {
    if (this.closed) return
    this.#parser.stop()
    this.#release()
    super.onTransportClosed()
  }

  #release(): void {
    if (this.#released) return
    this.#released = true
    this.front.connections.delete(this)
    for (const s of this.subs.values()) {
      const r = s as RespSub
      this.front.count(this.front.countsFor(r.kind), r.sid.slice(1), -1)
    }
  }
}
