// A consumer's delivery bookkeeping: delivered and ack-floor sequences, messages awaiting an ack
// with their ack-wait (or backoff) deadlines, the redelivery queue, and max_deliver with its advisory.
import type { ConsumerConfig } from './config.js'
import { NS_PER_MS } from './config.js'
import type { ConsumerHost, ConsumerState } from './consumer.js'
import { JsHeaders } from './js-headers.js'

interface Pending {
  cseq: number
  /** Delivery time, epoch ms. */
  ts: number
  deadline: number
  deliveries: number
}

/** What an ack payload asks for: +ACK (or empty, or +OK), -NAK, +WPI, +TERM, +NXT; anything else is UNKNOWN and does nothing. */
export const AckKind = { ACK: 0, NAK: 1, WPI: 2, TERM: 3, NXT: 4, UNKNOWN: 5 } as const
export type AckKindValue = (typeof AckKind)[keyof typeof AckKind]

export class AckTracker {
  readonly #host: ConsumerHost
  readonly #name: string
  /** The consumer's current config (updates replace it). */
  readonly #config: () => ConsumerConfig
  readonly #pending = new Map<number, Pending>()
  #redeliver: number[] = []
  #dseq = 0
  #dsseq = 0
  #floorC = 0
  #floorS = 0
  #nextDeadline = Number.POSITIVE_INFINITY
  #redeliveredCount = 0

  constructor(host: ConsumerHost, name: string, config: () => ConsumerConfig) {
    this.#host = host
    this.#name = name
    this.#config = config
  }

  /** Messages delivered and not yet acked. */
  get size(): number {
    return this.#pending.size
  }

  /** Last consumer sequence and highest stream sequence delivered. */
  delivered(): { consumer_seq: number; stream_seq: number } {
    return { consumer_seq: this.#dseq, stream_seq: this.#dsseq }
  }

  /** Last consumer sequence delivered. */
  get consumerSeq(): number {
    return this.#dseq
  }

  ackFloor(): { consumer_seq: number; stream_seq: number } {
    return { consumer_seq: this.#floorC, stream_seq: this.#floorS }
  }

  get redeliveredCount(): number {
    return this.#redeliveredCount
  }

  /** A new consumer whose cursor starts at `cursor`: what lies below counts as delivered and acked. */
  start(cursor: number): void {
    this.#dsseq = cursor - 1
    this.#floorS = cursor - 1
  }

  restore(st: ConsumerState): void {
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

  state(cursor: number): ConsumerState {
    return {
      delivered: this.delivered(),
      ack_floor: this.ackFloor(),
      cursor,
      pending: [...this.#pending].map(([s, p]) => [s, p.cseq, p.deliveries]),
    }
  }

  has(seq: number): boolean {
    return this.#pending.has(seq)
  }

  /** max_ack_pending reached (never with ack_policy none). */
  atLimit(): boolean {
    const c = this.#config()
    return c.ack_policy !== 'none' && c.max_ack_pending > 0 && this.#pending.size >= c.max_ack_pending
  }

  get hasRedeliveries(): boolean {
    return this.#redeliver.length > 0
  }

  /** The first redelivery that is due, 0 when none; stale queue entries are dropped on the way. */
  nextRedelivery(): number {
    while (this.#redeliver.length > 0) {
      const s = this.#redeliver[0] as number
      const p = this.#pending.get(s)
      if (p !== undefined && p.deadline === Number.POSITIVE_INFINITY) return s
      this.#redeliver.shift()
    }
    return 0
  }

  /** `seq` is gone from the stream: drops it when it heads the redelivery queue (returns true). */
  skipRedelivery(seq: number): boolean {
    if (this.#redeliver[0] !== seq) return false
    this.#redeliver.shift()
    this.#pending.delete(seq)
    return true
  }

  /** Records a delivery of stream sequence `seq` at `now` (a redelivery leaves the head of the queue); returns its delivery count. */
  recordDelivery(seq: number, redelivery: boolean, now: number): number {
    if (redelivery) this.#redeliver.shift()
    const cseq = ++this.#dseq
    if (seq > this.#dsseq) this.#dsseq = seq
    let deliveries = 1
    if (this.#config().ack_policy === 'none') {
      this.#floorC = cseq
      this.#floorS = seq
    } else {
      const prev = this.#pending.get(seq)
      deliveries = prev === undefined ? 1 : prev.deliveries + 1
      if (redelivery && prev?.deliveries === 1) this.#redeliveredCount++
      const deadline = now + this.#ackWaitMs(deliveries)
      if (prev !== undefined) {
        prev.cseq = cseq
        prev.ts = now
        prev.deadline = deadline
        prev.deliveries = deliveries
      } else this.#pending.set(seq, { cseq, ts: now, deadline, deliveries })
      if (deadline < this.#nextDeadline) this.#nextDeadline = deadline
    }
    return deliveries
  }

  #ackWaitMs(deliveries: number): number {
    const c = this.#config()
    const b = c.backoff
    if (b !== undefined && b.length > 0) return (b[Math.min(deliveries - 1, b.length - 1)] as number) / NS_PER_MS
    return c.ack_wait / NS_PER_MS
  }

  /** Applies an ack payload for stream sequence `sseq`; returns its kind. */
  onAck(sseq: number, payload: Uint8Array): AckKindValue {
    const kind = ackKind(payload)
    switch (kind) {
      case AckKind.ACK:
      case AckKind.NXT:
        if (this.#config().ack_policy === 'all') this.#ackUpTo(sseq)
        else this.#ackOne(sseq)
        break
      case AckKind.NAK: {
        const p = this.#pending.get(sseq)
        if (p !== undefined) {
          let delayMs = 0
          const m = /^-NAK\s+(\{.*\})\s*$/s.exec(new TextDecoder().decode(payload))
          if (m !== null) {
            try {
              const delay = (JSON.parse(m[1] as string) as { delay?: unknown }).delay
              // Nanoseconds; anything but a non-negative safe integer is a plain -NAK.
              delayMs = Number.isSafeInteger(delay) && (delay as number) > 0 ? (delay as number) / NS_PER_MS : 0
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
      case AckKind.WPI: {
        const p = this.#pending.get(sseq)
        if (p !== undefined && p.deadline !== Number.POSITIVE_INFINITY) {
          p.deadline = Date.now() + this.#ackWaitMs(p.deliveries)
          if (p.deadline < this.#nextDeadline) this.#nextDeadline = p.deadline
        }
        break
      }
      case AckKind.TERM:
        this.#ackOne(sseq)
        break
    }
    return kind
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

  /** Ack wait expiry: queues every message whose deadline passed for redelivery. */
  expire(now: number): void {
    if (now < this.#nextDeadline) return
    let next = Number.POSITIVE_INFINITY
    for (const [s, p] of this.#pending) {
      if (p.deadline <= now) this.#due(s, p)
      else if (p.deadline < next) next = p.deadline
    }
    this.#nextDeadline = next
  }

  #due(sseq: number, p: Pending): void {
    const max = this.#config().max_deliver
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
    this.#host.advisory(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${this.#name}`, {
      type: 'io.nats.jetstream.advisory.v1.max_deliver',
      stream,
      consumer: this.#name,
      stream_seq: sseq,
      deliveries,
    })
    const dlq = this.#config().dead_letter_subject
    if (dlq !== undefined) {
      const msg = this.#host.store.get(sseq)
      if (msg !== undefined) {
        const h = msg.hdr === undefined ? new JsHeaders() : JsHeaders.parse(msg.hdr)
        h.set('Nats-Stream', stream)
        h.set('Nats-Consumer', this.#name)
        h.set('Nats-Sequence', String(sseq))
        h.set('Nats-Subject', msg.subject)
        h.set('Nats-Deliveries', String(deliveries))
        this.#host.publish(dlq, msg.data, h)
      }
    }
    if (this.#host.retention === 'interest') this.#host.onAcked(sseq)
  }

  /** Stream purge / message removal: forgets pending entries for removed sequences. */
  onStreamPurged(): void {
    const store = this.#host.store
    for (const s of [...this.#pending.keys()]) if (!store.has(s)) this.#pending.delete(s)
    this.#advanceFloor()
    if (this.#floorS < store.firstSeq - 1 && this.#pending.size === 0) this.#floorS = Math.max(this.#floorS, Math.min(this.#dsseq, store.firstSeq - 1))
    this.#host.markDirty()
  }
}

/** Verb, what it asks for, and whether it must be the whole payload (the others may carry arguments). */
const ACK_VERBS: readonly (readonly [string, AckKindValue, boolean])[] = [
  ['+ACK', AckKind.ACK, true],
  ['+OK', AckKind.ACK, true],
  ['+NXT', AckKind.NXT, false],
  ['-NAK', AckKind.NAK, false],
  ['+WPI', AckKind.WPI, true],
  ['+TERM', AckKind.TERM, false],
]

/** nats-server's rules: empty, `+ACK` or `+OK` ack; `+NXT`, `-NAK`, `+TERM` may carry arguments; anything else is ignored. */
export function ackKind(p: Uint8Array): AckKindValue {
  if (p.length === 0) return AckKind.ACK
  if (p[0] !== 0x2b && p[0] !== 0x2d) return AckKind.UNKNOWN
  for (const [verb, kind, exact] of ACK_VERBS) {
    if (p.length < verb.length || (exact && p.length !== verb.length)) continue
    let same = true
    for (let i = 0; i < verb.length && same; i++) same = p[i] === verb.charCodeAt(i)
    if (same) return kind
  }
  return AckKind.UNKNOWN
}
