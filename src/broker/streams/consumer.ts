// A consumer: a cursor over one stream with its own delivery state. Pull consumers queue
// CONSUMER.MSG.NEXT requests and deliver to their reply inboxes; push consumers deliver to a
// deliver subject while it has interest, with flow control and idle heartbeats. Acks arrive as
// +ACK / -NAK / +WPI / +TERM / +NXT on the `$JS.ACK...` reply subject of each delivery.
import type { AckPolicy, ConsumerConfig, Retention } from './config.js'
import { NS_PER_MS } from './config.js'
import { JsHeaders } from './js-headers.js'
import type { MsgStore, StoredMsg } from './msg-store.js'
import { parsePullRequest, type PullRequest } from './pull-request.js'
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

interface Pending {
  cseq: number
  /** Delivery time, epoch ms. */
  ts: number
  deadline: number
  deliveries: number
}

export interface ConsumerState {
  delivered: { consumer_seq: number; stream_seq: number }
  ack_floor: { consumer_seq: number; stream_seq: number }
  cursor: number
  /** [stream seq, consumer seq, deliveries] */
  pending: [number, number, number][]
}

const EMPTY = new Uint8Array(0)
const ACK = 0
const NAK = 1
const WPI = 2
const TERM = 3
const NXT = 4

export class Consumer {
  readonly name: string
  config: ConsumerConfig
  readonly created: string
  readonly #host: ConsumerHost
  #match: ((subject: string) => boolean) | undefined
  readonly #pending = new Map<number, Pending>()
  #redeliver: number[] = []
  #waiting: PullRequest[] = []
  #cursor = 1
  #dseq = 0
  #dsseq = 0
  #floorC = 0
  #floorS = 0
  #nextDeadline = Number.POSITIVE_INFINITY
  #pumping = false
  #lastActive = Date.now()
  #lastDelivery = Date.now()
  #redeliveredCount = 0
  // Push flow control.
  #fcPending: string | undefined
  #fcSince = 0
  #fcSeq = 0
  #closed = false
  readonly ephemeral: boolean

  constructor(host: ConsumerHost, name: string, config: ConsumerConfig, created: string, state?: ConsumerState) {
    this.#host = host
    this.name = name
    this.config = config
    this.created = created
    this.ephemeral = config.durable_name === undefined
    this.#match = matcher(config.filter_subject)
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
    return this.#pending.size
  }
  get numWaiting(): number {
    return this.#waiting.length
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
    return seq >= this.#cursor || this.#pending.has(seq)
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
    this.#dsseq = this.#cursor - 1
    this.#floorS = this.#cursor - 1
  }

  #restore(st: ConsumerState): void {
    this.#cursor = st.cursor
    this.#dseq = st.delivered.consumer_seq
    this.#dsseq = st.delivered.stream_seq
    this.#floorC = st.ack_floor.consumer_seq
    this.#floorS = st.ack_floor.stream_seq
    const now = Date.now()
    for (const [sseq, cseq, deliveries] of st.pending) {
      const deadline = now + this.#ackWaitMs(deliveries)
      this.#pending.set(sseq, { cseq, ts: now, deadline, deliveries })
      if (deadline < this.#nextDeadline) this.#nextDeadline = deadline
    }
  }

  state(): ConsumerState {
    return {
      delivered: { consumer_seq: this.#dseq, stream_seq: this.#dsseq },
      ack_floor: { consumer_seq: this.#floorC, stream_seq: this.#floorS },
      cursor: this.#cursor,
      pending: [...this.#pending].map(([s, p]) => [s, p.cseq, p.deliveries]),
    }
  }

  info(): Record<string, unknown> {
    const numPending = this.#host.store.countFrom(this.#cursor, this.#match)
    const out: Record<string, unknown> = {
      stream_name: this.#host.streamName,
      name: this.name,
      created: this.created,
      config: { ...this.config, name: this.name },
      delivered: { consumer_seq: this.#dseq, stream_seq: this.#dsseq, last_active: new Date(this.#lastDelivery).toISOString() },
      ack_floor: { consumer_seq: this.#floorC, stream_seq: this.#floorS },
      num_ack_pending: this.#pending.size,
      num_redelivered: this.#redeliveredCount,
      num_waiting: this.#waiting.length,
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

  #ackWaitMs(deliveries: number): number {
    const b = this.config.backoff
    if (b !== undefined && b.length > 0) return (b[Math.min(deliveries - 1, b.length - 1)] as number) / NS_PER_MS
    return this.config.ack_wait / NS_PER_MS
  }

  // ---- pull requests ------------------------------------------------------------------------

  /** Handles CONSUMER.MSG.NEXT; `payload` is the raw request body. */
  onNextRequest(reply: string, payload: Uint8Array): void {
    if (reply === '') return
    this.#lastActive = Date.now()
    if (this.isPush) {
      this.#status(reply, 409, 'Consumer is push based')
      return
    }
    const req = parsePullRequest(reply, payload, this.config, this.#waiting.length, Date.now())
    if ('code' in req) {
      this.#status(reply, req.code, req.description)
      return
    }
    this.#waiting.push(req)
    this.pump()
    if (req.noWait && this.#waiting.includes(req)) {
      // Whatever was available has been delivered; a no-wait request never waits.
      this.#removeRequest(req)
      if (req.delivered === 0) this.#status(reply, 404, 'No Messages')
      else this.#status(reply, 408, 'Request Timeout', req)
    }
  }

  #removeRequest(req: PullRequest): void {
    const i = this.#waiting.indexOf(req)
    if (i >= 0) this.#waiting.splice(i, 1)
  }

  #status(reply: string, code: number, description: string, req?: PullRequest): void {
    const h = JsHeaders.status(code, description)
    if (req !== undefined) {
      h.set('Nats-Pending-Messages', String(req.batch))
      h.set('Nats-Pending-Bytes', String(req.maxBytes))
    }
    this.#host.publish(reply, EMPTY, h)
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
        if (this.config.ack_policy !== 'none' && this.config.max_ack_pending > 0 && this.#pending.size >= this.config.max_ack_pending && this.#redeliver.length === 0) break
        let target: string
        let req: PullRequest | undefined
        if (this.isPush) {
          const ds = this.config.deliver_subject as string
          if (this.#fcStalled()) break
          if (checked !== ds) {
            if (!this.#host.hasInterest(ds)) break
            checked = ds
          }
          target = ds
        } else {
          req = this.#waiting[0]
          if (req === undefined) break
          if (checked !== req.reply) {
            if (!this.#host.hasInterest(req.reply)) {
              this.#waiting.shift()
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
          this.#skip(seq)
          continue
        }
        const redelivery = this.#pending.has(seq)
        if (!redelivery && this.config.ack_policy !== 'none' && this.config.max_ack_pending > 0 && this.#pending.size >= this.config.max_ack_pending) break
        const size = msg.subject.length + (msg.hdr?.length ?? 0) + msg.data.length
        if (req !== undefined && req.maxBytes > 0 && size > req.maxBytes) {
          this.#waiting.shift()
          this.#status(req.reply, 409, 'Message Size Exceeds MaxBytes', req)
          continue
        }
        this.#take(seq, redelivery)
        this.#send(msg, target, redelivery)
        if (req !== undefined) {
          req.batch--
          req.delivered++
          req.lastSent = Date.now()
          if (req.maxBytes > 0) req.maxBytes -= size
          if (req.batch <= 0) this.#waiting.shift()
          else if (req.maxBytes < 0) {
            this.#waiting.shift()
          }
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  /** Next sequence to deliver: due redeliveries first, then new messages; 0 when none. */
  #peek(): number {
    while (this.#redeliver.length > 0) {
      const s = this.#redeliver[0] as number
      const p = this.#pending.get(s)
      if (p !== undefined && p.deadline === Number.POSITIVE_INFINITY) return s
      this.#redeliver.shift()
    }
    const store = this.#host.store
    if (this.#cursor > store.lastSeq) return 0
    const next = store.nextSeq(this.#cursor, this.#match)
    if (next === 0) {
      this.#cursor = store.lastSeq + 1
      return 0
    }
    return next
  }

  #skip(seq: number): void {
    if (this.#redeliver[0] === seq) {
      this.#redeliver.shift()
      this.#pending.delete(seq)
    } else this.#cursor = seq + 1
  }

  #take(seq: number, redelivery: boolean): void {
    if (redelivery) this.#redeliver.shift()
    else this.#cursor = seq + 1
  }

  #send(msg: StoredMsg, target: string, redelivery: boolean): void {
    const now = Date.now()
    const cseq = ++this.#dseq
    if (msg.seq > this.#dsseq) this.#dsseq = msg.seq
    let deliveries = 1
    if (this.config.ack_policy === 'none') {
      this.#floorC = cseq
      this.#floorS = msg.seq
    } else {
      const prev = this.#pending.get(msg.seq)
      deliveries = prev === undefined ? 1 : prev.deliveries + 1
      if (redelivery && prev?.deliveries === 1) this.#redeliveredCount++
      const deadline = now + this.#ackWaitMs(deliveries)
      if (prev !== undefined) {
        prev.cseq = cseq
        prev.ts = now
        prev.deadline = deadline
        prev.deliveries = deliveries
      } else this.#pending.set(msg.seq, { cseq, ts: now, deadline, deliveries })
      if (deadline < this.#nextDeadline) this.#nextDeadline = deadline
    }
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
    this.#fcSince++
    if (this.config.ack_policy === 'none') this.#host.onAcked(msg.seq)
    this.#host.markDirty()
    if (this.config.flow_control === true && this.#fcPending === undefined && this.#fcSince >= this.#fcEvery()) this.#sendFlowControl()
  }

  // ---- push flow control & heartbeats ---------------------------------------------------------

  #fcEvery(): number {
    const map = this.config.max_ack_pending > 0 ? this.config.max_ack_pending : 1000
    return Math.max(1, Math.min(512, Math.floor(map / 2)))
  }

  #fcStalled(): boolean {
    return this.#fcPending !== undefined && this.#fcSince >= this.#fcEvery() * 2
  }

  #sendFlowControl(): void {
    const reply = `$JS.FC.${this.#host.streamName}.${this.name}.${++this.#fcSeq}`
    this.#fcPending = reply
    this.#fcSince = 0
    this.#host.publish(this.config.deliver_subject as string, EMPTY, JsHeaders.status(100, 'FlowControl Request'), reply)
  }

  /** A flow-control reply arrived on `$JS.FC...`. */
  onFlowControlReply(subject: string): void {
    if (subject === this.#fcPending) {
      this.#fcPending = undefined
      this.pump()
    }
  }

  // ---- acks -----------------------------------------------------------------------------------

  /** Handles a message on this consumer's `$JS.ACK` subject. */
  onAck(sseq: number, payload: Uint8Array, reply: string): void {
    this.#lastActive = Date.now()
    const kind = ackKind(payload)
    switch (kind) {
      case ACK:
      case NXT:
        if (this.config.ack_policy === 'all') this.#ackUpTo(sseq)
        else this.#ackOne(sseq)
        break
      case NAK: {
        const p = this.#pending.get(sseq)
        if (p !== undefined) {
          let delayMs = 0
          const m = /^-NAK\s+(\{.*\})\s*$/s.exec(new TextDecoder().decode(payload))
          if (m !== null) {
            try {
              delayMs = Number((JSON.parse(m[1] as string) as { delay?: number }).delay ?? 0) / NS_PER_MS
            } catch {
              delayMs = 0
            }
          }
          if (delayMs > 0) {
            p.deadline = Date.now() + delayMs
            if (p.deadline < this.#nextDeadline) this.#nextDeadline = p.deadline
          } else this.#due(sseq, p)
        }
        break
      }
      case WPI: {
        const p = this.#pending.get(sseq)
        if (p !== undefined && p.deadline !== Number.POSITIVE_INFINITY) {
          p.deadline = Date.now() + this.#ackWaitMs(p.deliveries)
          if (p.deadline < this.#nextDeadline) this.#nextDeadline = p.deadline
        }
        break
      }
      case TERM:
        this.#ackOne(sseq)
        break
    }
    if (reply !== '' && kind !== NXT) this.#host.publish(reply, EMPTY, undefined)
    if (kind === NXT && reply !== '') {
      const rest = payload.subarray(4)
      this.onNextRequest(reply, rest)
    }
    this.pump()
  }

  #ackOne(sseq: number): void {
    if (!this.#pending.delete(sseq)) return
    this.#advanceFloor()
    this.#host.onAcked(sseq)
    this.#host.markDirty()
  }

  #ackUpTo(sseq: number): void {
    let any = false
    for (const s of [...this.#pending.keys()]) {
      if (s <= sseq) {
        this.#pending.delete(s)
        this.#host.onAcked(s)
        any = true
      }
    }
    if (any) {
      this.#advanceFloor()
      this.#host.markDirty()
    }
  }

  #advanceFloor(): void {
    // Map order is delivery order of first deliveries, so the first key is the lowest pending seq.
    const first = this.#pending.entries().next()
    if (first.done === true) {
      this.#floorC = this.#dseq
      this.#floorS = this.#dsseq
    } else {
      const [s, p] = first.value
      let minS = s
      let minC = p.cseq
      if (this.#pending.size < 64) for (const [s2, p2] of this.#pending) if (s2 < minS) [minS, minC] = [s2, p2.cseq]
      this.#floorS = Math.max(this.#floorS, minS - 1)
      this.#floorC = Math.max(this.#floorC, minC - 1)
    }
  }

  #due(sseq: number, p: Pending): void {
    const max = this.config.max_deliver
    if (max > 0 && p.deliveries >= max) {
      this.#pending.delete(sseq)
      this.#advanceFloor()
      this.#host.markDirty()
      this.#deadLetter(sseq, p.deliveries)
      return
    }
    p.deadline = Number.POSITIVE_INFINITY
    // Keep the redelivery queue in stream order.
    const q = this.#redeliver
    if (q.length === 0 || (q[q.length - 1] as number) < sseq) q.push(sseq)
    else {
      let i = q.length
      while (i > 0 && (q[i - 1] as number) > sseq) i--
      if (q[i] !== sseq) q.splice(i, 0, sseq)
    }
  }

  #deadLetter(sseq: number, deliveries: number): void {
    const stream = this.#host.streamName
    this.#host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${this.name}`, {
      type: 'io.nats.jetstream.advisory.v1.max_deliver',
      stream,
      consumer: this.name,
      stream_seq: sseq,
      deliveries,
    })
    const dlq = this.config.dead_letter_subject
    if (dlq !== undefined) {
      const msg = this.#host.store.get(sseq)
      if (msg !== undefined) {
        const h = msg.hdr === undefined ? new JsHeaders() : JsHeaders.parse(msg.hdr)
        h.set('Nats-Stream', stream)
        h.set('Nats-Consumer', this.name)
        h.set('Nats-Sequence', String(sseq))
        h.set('Nats-Subject', msg.subject)
        h.set('Nats-Deliveries', String(deliveries))
        this.#host.publish(dlq, msg.data, h)
      }
    }
    if (this.#host.retention === 'interest') this.#host.onAcked(sseq)
  }

  // ---- timers ---------------------------------------------------------------------------------

  /** Called every tick: ack-wait expiry, pull expiry and heartbeats, push heartbeats. */
  tick(now: number): void {
    if (now >= this.#nextDeadline) {
      let next = Number.POSITIVE_INFINITY
      for (const [s, p] of this.#pending) {
        if (p.deadline <= now) this.#due(s, p)
        else if (p.deadline < next) next = p.deadline
      }
      this.#nextDeadline = next
    }
    if (this.#waiting.length > 0) {
      for (const req of [...this.#waiting]) {
        if (req.expiresAt > 0 && now >= req.expiresAt) {
          this.#removeRequest(req)
          if (this.#host.hasInterest(req.reply)) this.#status(req.reply, 408, 'Request Timeout', req)
        } else if (req.hbMs > 0 && now - req.lastSent >= req.hbMs) {
          req.lastSent = now
          this.#host.publish(req.reply, EMPTY, JsHeaders.status(100, 'Idle Heartbeat'))
        }
      }
    }
    const hb = this.config.idle_heartbeat
    if (this.isPush && hb !== undefined && now - this.#lastDelivery >= hb / NS_PER_MS) {
      this.#lastDelivery = now
      const ds = this.config.deliver_subject as string
      if (this.#host.hasInterest(ds)) {
        const h = JsHeaders.status(100, 'Idle Heartbeat')
        h.set('Nats-Last-Consumer', String(this.#dseq))
        h.set('Nats-Last-Stream', String(this.#dsseq))
        if (this.#fcPending !== undefined) h.set('Nats-Consumer-Stalled', this.#fcPending)
        this.#host.publish(ds, EMPTY, h)
      }
    }
    if (this.isPush && this.#host.hasInterest(this.config.deliver_subject as string)) this.#lastActive = now
    this.pump()
  }

  /** Stream purge / message removal: forget pending entries for removed sequences. */
  onStreamPurged(): void {
    const store = this.#host.store
    for (const s of [...this.#pending.keys()]) if (!store.has(s)) this.#pending.delete(s)
    if (this.#cursor < store.firstSeq) this.#cursor = store.firstSeq
    this.#advanceFloor()
    if (this.#floorS < store.firstSeq - 1 && this.#pending.size === 0) this.#floorS = Math.max(this.#floorS, Math.min(this.#dsseq, store.firstSeq - 1))
    this.#host.markDirty()
  }

  /** Stops delivering. `deleted` tells waiting pull requests (409 Consumer Deleted); a shutdown does not. */
  close(deleted = true): void {
    if (this.#closed) return
    this.#closed = true
    if (deleted) for (const req of this.#waiting) this.#status(req.reply, 409, 'Consumer Deleted', req)
    this.#waiting = []
  }
}

function ackKind(p: Uint8Array): number {
  if (p.length === 0) return ACK
  if (p[0] === 0x2d) return NAK // -NAK
  if (p[0] === 0x2b && p.length >= 4) {
    if (p[1] === 0x41) return ACK // +ACK
    if (p[1] === 0x57) return WPI // +WPI
    if (p[1] === 0x54) return TERM // +TERM
    if (p[1] === 0x4e) return NXT // +NXT
  }
  return ACK
}
