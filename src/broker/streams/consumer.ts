// A consumer: a cursor over one stream with its own delivery state. Pull consumers queue
// CONSUMER.MSG.NEXT requests and deliver to their reply inboxes; push consumers deliver to a
// deliver subject while it has interest, with flow control and idle heartbeats. Acks arrive as
// +ACK / -NAK / +WPI / +TERM / +NXT on the `$JS.ACK...` reply subject of each delivery.
import { AckKind, AckTracker } from './ack-tracker.js'
import type { AckPolicy, ConsumerConfig, Retention } from './config.js'
import { NS_PER_MS } from './config.js'
import { JsHeaders } from './js-headers.js'
import type { MsgStore, StoredMsg } from './msg-store.js'
import type { PullRequest } from './pull-request.js'
import { PullQueue } from './pull-queue.js'
import { PushFlow } from './push-flow.js'
import { matcher } from './subjects.js'

export interface ConsumerHost {
  readonly streamName: string
  readonly store: MsgStore
  readonly retention: Retention
  /** Sends a stored message to `target` (an inbox or deliver subject), presenting its original subject. */
  deliver(target: string, subject: string, data: Uint8Array, headers: JsHeaders | undefined, reply: string): void
  publish(subject: string, data: Uint8Array, headers: JsHeaders | undefined, reply?: string): void
  hasInterest(subject: string): boolean
  /** A message left this consumer for good (acked, terminated, or given up on). */
  onAcked(seq: number): void
  markDirty(): void
  advisory(subject: string, body: Record<string, unknown>): void
}

export interface ConsumerState {
  delivered: { consumer_seq: number; stream_seq: number }
  ack_floor: { consumer_seq: number; stream_seq: number }
  cursor: number
  /** [stream seq, consumer seq, deliveries] */
  pending: [number, number, number][]
}

const EMPTY = new Uint8Array(0)

export class Consumer {
  readonly name: string
  config: ConsumerConfig
  readonly created: string
  readonly #host: ConsumerHost
  #match: ((subject: string) => boolean) | undefined
  readonly #acks: AckTracker
  readonly #pulls: PullQueue
  readonly #flow: PushFlow
  #cursor = 1
  #pumping = false
  #lastActive = Date.now()
  #lastDelivery = Date.now()
  #closed = false
  readonly ephemeral: boolean

  constructor(host: ConsumerHost, name: string, config: ConsumerConfig, created: string, state?: ConsumerState) {
    this.#host = host
    this.name = name
    this.config = config
    this.created = created
    this.ephemeral = config.durable_name === undefined
    this.#match = matcher(config.filter_subject)
    this.#acks = new AckTracker(host, name, () => this.config)
    this.#pulls = new PullQueue(host)
    this.#flow = new PushFlow(host, name)
    if (state !== undefined) this.#restore(state)
    else this.#initCursor()
  }

  get isPush(): boolean {
    return this.config.deliver_subject !== undefined
  }
  get ackPolicy(): AckPolicy {
    return this.config.ack_policy
  }
  get numAckPending(): number {
    return this.#acks.size
  }
  get numWaiting(): number {
    return this.#pulls.length
  }
  get lastActive(): number {
    return this.#lastActive
  }

  matches(subject: string): boolean {
    return this.#match === undefined || this.#match(subject)
  }

  /** Does this consumer still need `seq` (not yet delivered, or delivered and not acked)? */
  needs(seq: number, subject: string): boolean {
    if (!this.matches(subject)) return false
    return seq >= this.#cursor || this.#acks.has(seq)
  }

  #initCursor(): void {
    const s = this.#host.store
    const c = this.config
    switch (c.deliver_policy) {
      case 'new':
        this.#cursor = s.lastSeq + 1
        break
      case 'last':
      case 'last_per_subject': {
        const last = this.#match === undefined ? s.lastSeq : s.lastSeqFor('', this.#match)
        this.#cursor = last > 0 ? last : s.lastSeq + 1
        break
      }
      case 'by_start_sequence':
        this.#cursor = Math.max(1, c.opt_start_seq ?? 1)
        break
      case 'by_start_time': {
        const seq = s.seqAtTime(Date.parse(c.opt_start_time ?? ''))
        this.#cursor = seq > 0 ? seq : s.lastSeq + 1
        break
      }
      default:
        this.#cursor = s.firstSeq
    }
    this.#acks.start(this.#cursor)
  }

  #restore(st: ConsumerState): void {
    this.#cursor = st.cursor
    this.#acks.restore(st)
  }

  state(): ConsumerState {
    return this.#acks.state(this.#cursor)
  }

  info(): Record<string, unknown> {
    const numPending = this.#host.store.countFrom(this.#cursor, this.#match)
    const out: Record<string, unknown> = {
      stream_name: this.#host.streamName,
      name: this.name,
      created: this.created,
      config: { ...this.config, name: this.name },
      delivered: { ...this.#acks.delivered(), last_active: new Date(this.#lastDelivery).toISOString() },
      ack_floor: this.#acks.ackFloor(),
      num_ack_pending: this.#acks.size,
      num_redelivered: this.#acks.redeliveredCount,
      num_waiting: this.#pulls.length,
      num_pending: numPending,
      cluster: { leader: 'switchyard' },
    }
    if (this.isPush) out['push_bound'] = this.#host.hasInterest(this.config.deliver_subject as string)
    return out
  }

  /** Applies an update of the mutable fields. */
  update(cfg: ConsumerConfig): void {
    this.config = cfg
    this.#match = matcher(cfg.filter_subject)
    this.pump()
  }

  /** Handles CONSUMER.MSG.NEXT; `payload` is the raw request body. */
  onNextRequest(reply: string, payload: Uint8Array): void {
    if (reply === '') return
    this.#lastActive = Date.now()
    if (this.isPush) {
      this.#pulls.status(reply, 409, 'Consumer is push based')
      return
    }
    const req = this.#pulls.add(reply, payload, this.config, Date.now())
    if (req === undefined) return
    this.pump()
    this.#pulls.endNoWait(req)
  }

  // ---- delivery -----------------------------------------------------------------------------

  /** Delivers as much as targets, limits and the stream allow. */
  pump(): void {
    if (this.#pumping || this.#closed) return
    this.#pumping = true
    // Interest lookups are per target and pump call, not per message.
    let checked: string | undefined
    try {
      for (let guard = 0; guard < 100_000; guard++) {
        if (this.#acks.atLimit() && !this.#acks.hasRedeliveries) break
        let target: string
        let req: PullRequest | undefined
        if (this.isPush) {
          const ds = this.config.deliver_subject as string
          if (this.#flow.stalled(this.config)) break
          if (checked !== ds) {
            if (!this.#host.hasInterest(ds)) break
            checked = ds
          }
          target = ds
        } else {
          req = this.#pulls.head
          if (req === undefined) break
          if (checked !== req.reply) {
            if (!this.#host.hasInterest(req.reply)) {
              this.#pulls.shift()
              continue
            }
            checked = req.reply
          }
          target = req.reply
        }
        const seq = this.#peek()
        if (seq === 0) break
        const msg = this.#host.store.get(seq)
        if (msg === undefined) {
          if (!this.#acks.skipRedelivery(seq)) this.#cursor = seq + 1
          continue
        }
        const redelivery = this.#acks.has(seq)
        if (!redelivery && this.#acks.atLimit()) break
        const size = msg.subject.length + (msg.hdr?.length ?? 0) + msg.data.length
        if (req !== undefined && req.maxBytes > 0 && size > req.maxBytes) {
          this.#pulls.shift()
          this.#pulls.status(req.reply, 409, 'Message Size Exceeds MaxBytes', req)
          continue
        }
        if (!redelivery) this.#cursor = seq + 1
        this.#send(msg, target, redelivery)
        if (req !== undefined) this.#pulls.served(req, size)
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Next sequence to deliver: due redeliveries first, then new messages; 0 when none. */
  #peek(): number {
    const due = this.#acks.nextRedelivery()
    if (due !== 0) return due
    const store = this.#host.store
    if (this.#cursor > store.lastSeq) return 0
    const next = store.nextSeq(this.#cursor, this.#match)
    if (next === 0) {
      this.#cursor = store.lastSeq + 1
      return 0
    }
    return next
  }

  #send(msg: StoredMsg, target: string, redelivery: boolean): void {
    const now = Date.now()
    const deliveries = this.#acks.recordDelivery(msg.seq, redelivery, now)
    const cseq = this.#acks.consumerSeq
    const store = this.#host.store
    const left = this.#match === undefined ? Math.max(0, store.lastSeq - this.#cursor + 1) : store.countFrom(this.#cursor, this.#match)
    const reply = `$JS.ACK.${this.#host.streamName}.${this.name}.${deliveries}.${msg.seq}.${cseq}.${Math.floor(msg.ts)}000000.${left}`
    let headers = msg.hdr === undefined ? undefined : JsHeaders.parse(msg.hdr)
    let data = msg.data
    if (this.config.headers_only === true) {
      headers ??= new JsHeaders()
      headers.set('Nats-Msg-Size', String(data.length))
      data = EMPTY
    }
    this.#host.deliver(target, msg.subject, data, headers, reply)
    this.#lastDelivery = now
    this.#lastActive = now
    if (this.config.ack_policy === 'none') this.#host.onAcked(msg.seq)
    this.#host.markDirty()
    this.#flow.sent(this.config)
  }

  /** A flow-control reply arrived on `$JS.FC...`. */
  onFlowControlReply(subject: string): void {
    if (this.#flow.onReply(subject)) this.pump()
  }

  /** Handles a message on this consumer's `$JS.ACK` subject. */
  onAck(sseq: number, payload: Uint8Array, reply: string): void {
    this.#lastActive = Date.now()
    const kind = this.#acks.onAck(sseq, payload)
    if (reply !== '' && kind !== AckKind.NXT) this.#host.publish(reply, EMPTY, undefined)
    if (kind === AckKind.NXT && reply !== '') {
      const rest = payload.subarray(4)
      this.onNextRequest(reply, rest)
    }
    this.pump()
  }

  /** Called every tick: ack-wait expiry, pull expiry and heartbeats, push heartbeats. */
  tick(now: number): void {
    this.#acks.expire(now)
    this.#pulls.tick(now)
    const hb = this.config.idle_heartbeat
    if (this.isPush && hb !== undefined && now - this.#lastDelivery >= hb / NS_PER_MS) {
      this.#lastDelivery = now
      const last = this.#acks.delivered()
      this.#flow.heartbeat(this.config.deliver_subject as string, last.consumer_seq, last.stream_seq)
    }
    if (this.isPush && this.#host.hasInterest(this.config.deliver_subject as string)) this.#lastActive = now
    this.pump()
  }

  /** Stream purge / message removal: forget pending entries for removed sequences. */
  onStreamPurged(): void {
    const store = this.#host.store
    if (this.#cursor < store.firstSeq) this.#cursor = store.firstSeq
    this.#acks.onStreamPurged()
  }

  /** Stops delivering. `deleted` tells waiting pull requests (409 Consumer Deleted); a shutdown does not. */
  close(deleted = true): void {
    if (this.#closed) return
    this.#closed = true
    this.#pulls.close(deleted)
  }
}
