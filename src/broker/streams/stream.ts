// A stream: captures its subjects from the broker into a MsgStore, answers publishers with PubAcks
// (after the sync policy says the message is safe), enforces limits and retention, de-duplicates by
// Nats-Msg-Id, and owns its consumers.
import type { BrokerMsg, EmbeddedBroker, Subscription } from '../types.js'
import { ApiErrors, type ApiError } from './api-errors.js'
import { NS_PER_MS, type ConsumerConfig, type StreamConfig } from './config.js'
import { Consumer, type ConsumerHost, type ConsumerState } from './consumer.js'
import { JsHeaders } from './js-headers.js'
import { msgSize, type MsgStore } from './msg-store.js'
import { matcher, subjectIsSubset, subjectsOverlap } from './subjects.js'

export interface StreamHost {
  readonly broker: EmbeddedBroker
  deliver(target: string, subject: string, data: Uint8Array, headers: JsHeaders | undefined, reply: string): void
  consumerDirty(stream: Stream, consumer: Consumer): void
  advisory(subject: string, body: Record<string, unknown>): void
  counters: { inMsgs: number; inBytes: number; outMsgs: number; outBytes: number }
}

const enc = new TextEncoder()
const NIL_TIME = '0001-01-01T00:00:00Z'

/** An expected-sequence header as nats-server reads it: decimal digits only; anything else (`0x3`,
 *  `3e0`, `3.0`) is -1, which matches no sequence, so the publish fails as a wrong last sequence. */
function expectedSeq(v: string): number {
  const n = /^\d{1,16}$/.test(v) ? Number(v) : -1
  return Number.isSafeInteger(n) ? n : -1
}

export class Stream {
  config: StreamConfig
  readonly created: string
  readonly store: MsgStore
  readonly consumers = new Map<string, Consumer>()
  readonly #host: StreamHost
  #subs: Subscription[] = []
  /** msg id -> [seq, ts ms], in insertion order so expiry pops from the front. */
  readonly #dedup = new Map<string, [number, number]>()
  #lastMsgId = ''
  readonly #ackPrefix: string
  #ageCheckAt = 0

  /** `recovered`: header blocks seen by the store's recovery scan, so dedup ids need no re-read. */
  constructor(host: StreamHost, config: StreamConfig, created: string, store: MsgStore, recovered?: [number, number, Uint8Array][]) {
    this.#host = host
    this.config = config
    this.created = created
    this.store = store
    this.#ackPrefix = `{"stream":${JSON.stringify(config.name)},"seq":`
    if (recovered !== undefined) this.#dedupFrom(recovered)
    else this.#rebuildDedup()
    this.enforceLimits()
  }

  #dedupFrom(recovered: [number, number, Uint8Array][]): void {
    const since = Date.now() - this.config.duplicate_window / NS_PER_MS
    for (const [seq, ts, hdr] of recovered) {
      if (ts < since) continue
      const id = JsHeaders.parse(hdr).get('Nats-Msg-Id')
      if (id !== undefined) {
        this.#dedup.set(id, [seq, ts])
        this.#lastMsgId = id
      }
    }
  }

  get name(): string {
    return this.config.name
  }

  start(): void {
    for (const s of this.config.subjects) this.#subs.push(this.#host.broker.subscribe(s, {}, (m) => this.#onMsg(m)))
  }

  /** Stops capturing and delivering; `deleted` when the stream is being deleted (not a shutdown). */
  stop(deleted = false): void {
    for (const s of this.#subs) s.unsubscribe()
    this.#subs = []
    for (const c of this.consumers.values()) c.close(deleted)
  }

  /** Re-subscribes after a subjects change. */
  restart(): void {
    for (const s of this.#subs) s.unsubscribe()
    this.#subs = []
    this.start()
  }

  #rebuildDedup(): void {
    const windowMs = this.config.duplicate_window / NS_PER_MS
    const since = Date.now() - windowMs
    const from = this.store.seqAtTime(since)
    if (from === 0) return
    for (let s = from; s <= this.store.lastSeq; s++) {
      const m = this.store.get(s)
      if (m?.hdr === undefined) continue
      const id = JsHeaders.parse(m.hdr).get('Nats-Msg-Id')
      if (id !== undefined) {
        this.#dedup.set(id, [s, m.ts])
        this.#lastMsgId = id
      }
    }
  }

  #onMsg(m: BrokerMsg): void {
    // m.data is a view valid during this call; the store copies what it keeps.
    const data = m.data
    const headers = m.headers === undefined ? undefined : JsHeaders.from(m.headers)
    this.ingest(m.subject, headers, data, m.reply)
  }

  #fail(reply: string, err: ApiError): void {
    if (reply === '') return
    this.#host.broker.publish(reply, JSON.stringify({ error: err }))
  }

  ingest(subject: string, headers: JsHeaders | undefined, data: Uint8Array, reply: string): void {
    const cfg = this.config
    const store = this.store
    const now = Date.now()
    let msgId: string | undefined
    let hdr: Uint8Array | undefined
    if (headers !== undefined) {
      msgId = headers.get('Nats-Msg-Id')
      if (msgId !== undefined) {
        this.#expireDedup(now)
        const dup = this.#dedup.get(msgId)
        if (dup !== undefined) {
          if (reply !== '') {
            const body = `${this.#ackPrefix}${dup[0]},"duplicate":true}`
            store.onDurable(() => this.#host.broker.publish(reply, body))
          }
          return
        }
      }
      const es = headers.get('Nats-Expected-Stream')
      if (es !== undefined && es !== cfg.name) return this.#fail(reply, ApiErrors.streamNotMatch())
      const els = headers.get('Nats-Expected-Last-Sequence')
      if (els !== undefined && els !== '' && expectedSeq(els) !== store.lastSeq) return this.#fail(reply, ApiErrors.streamWrongLastSeq(store.lastSeq))
      const elss = headers.get('Nats-Expected-Last-Subject-Sequence')
      if (elss !== undefined && elss !== '') {
        const last = store.lastSeqFor(subject)
        if (expectedSeq(elss) !== last) return this.#fail(reply, ApiErrors.streamWrongLastSeq(last))
      }
      const elid = headers.get('Nats-Expected-Last-Msg-Id')
      if (elid !== undefined && elid !== this.#lastMsgId) return this.#fail(reply, ApiErrors.streamWrongLastMsgId(this.#lastMsgId))
      hdr = headers.encode()
    }
    const hlen = hdr?.length ?? 0
    // Sequences are JS numbers: past 2^53 - 1 they would repeat (a purge can move the stream there).
    if (store.lastSeq >= Number.MAX_SAFE_INTEGER) return this.#fail(reply, ApiErrors.storeFailed('sequence space exhausted'))
    if (cfg.max_msg_size > 0 && hlen + data.length > cfg.max_msg_size) return this.#fail(reply, ApiErrors.msgTooBig())
    if (cfg.discard === 'new') {
      if (cfg.max_msgs > 0 && store.msgs >= cfg.max_msgs) return this.#fail(reply, ApiErrors.storeFailed('maximum messages exceeded'))
      if (cfg.max_bytes > 0 && store.bytes + msgSize(subject, hlen, data.length) > cfg.max_bytes) return this.#fail(reply, ApiErrors.storeFailed('maximum bytes exceeded'))
    }
    const seq = store.append(subject, hdr, data, now)
    this.#host.counters.inMsgs++
    this.#host.counters.inBytes += data.length
    if (msgId !== undefined) this.#dedup.set(msgId, [seq, now])
    this.#lastMsgId = msgId ?? ''
    this.enforceLimits()
    if (cfg.retention !== 'limits') {
      let wanted = false
      for (const c of this.consumers.values()) if (c.matches(subject)) wanted = true
      if (!wanted) store.delete(seq)
    }
    if (reply !== '') {
      const body = `${this.#ackPrefix}${seq}}`
      store.onDurable(() => this.#host.broker.publish(reply, body))
    }
    for (const c of this.consumers.values()) if (c.matches(subject)) c.pump()
  }

  #expireDedup(now: number): void {
    const limit = now - this.config.duplicate_window / NS_PER_MS
    for (const [id, [, ts]] of this.#dedup) {
      if (ts >= limit) break
      this.#dedup.delete(id)
    }
  }

  enforceLimits(): void {
    const cfg = this.config
    const store = this.store
    if (cfg.discard === 'old') {
      while (cfg.max_msgs > 0 && store.msgs > cfg.max_msgs) store.delete(store.firstSeq, false)
      while (cfg.max_bytes > 0 && store.bytes > cfg.max_bytes && store.msgs > 0) store.delete(store.firstSeq, false)
    }
    if (cfg.max_msgs_per_subject > 0) {
      // Cheap common case: only the subject just written can be over its limit.
      const last = store.lastSeq
      const subject = store.subjectOf(last)
      if (subject !== undefined) {
        const seqs = store.seqsMatching((s) => s === subject)
        for (let i = 0; i < seqs.length - cfg.max_msgs_per_subject; i++) store.delete(seqs[i] as number)
      }
    }
    this.#expireAge(Date.now())
  }

  #expireAge(now: number): void {
    if (this.config.max_age <= 0) return
    const limit = now - this.config.max_age / NS_PER_MS
    const store = this.store
    let removed = false
    while (store.msgs > 0 && store.firstTs < limit) {
      store.delete(store.firstSeq, false)
      removed = true
    }
    if (removed) for (const c of this.consumers.values()) c.onStreamPurged()
  }

  tick(now: number): void {
    if (now >= this.#ageCheckAt) {
      this.#ageCheckAt = now + Math.min(1000, Math.max(50, this.config.max_age / NS_PER_MS / 10))
      this.#expireAge(now)
    }
    for (const c of this.consumers.values()) c.tick(now)
  }

  /** A consumer is done with `seq`: drop it when the retention policy says so. */
  onAcked(seq: number): void {
    const r = this.config.retention
    if (r === 'limits') return
    if (r === 'workqueue') {
      this.store.delete(seq)
      return
    }
    const subject = this.store.subjectOf(seq)
    if (subject === undefined) return
    for (const c of this.consumers.values()) if (c.needs(seq, subject)) return
    this.store.delete(seq)
  }

  /** Interest retention after a consumer is removed: drop what nobody needs any more. */
  recheckInterest(): void {
    if (this.config.retention === 'limits') return
    for (let s = this.store.firstSeq; s <= this.store.lastSeq; s++) {
      const subject = this.store.subjectOf(s)
      if (subject === undefined) continue
      let needed = false
      for (const c of this.consumers.values()) if (c.needs(s, subject)) needed = true
      if (!needed) this.store.delete(s)
    }
  }

  purge(req: { filter?: string; seq?: number; keep?: number }): number {
    const store = this.store
    let n = 0
    const match = matcher(req.filter)
    if (match === undefined && req.keep === undefined) {
      n = store.purgeBelow(req.seq ?? store.lastSeq + 1)
    } else {
      let seqs = match === undefined ? store.seqsMatching(() => true) : store.seqsMatching(match)
      if (req.seq !== undefined) seqs = seqs.filter((s) => s < (req.seq as number))
      if (req.keep !== undefined) seqs = seqs.slice(0, Math.max(0, seqs.length - req.keep))
      for (const s of seqs) if (store.delete(s)) n++
    }
    for (const c of this.consumers.values()) c.onStreamPurged()
    return n
  }

  info(): Record<string, unknown> {
    const s = this.store
    const empty = s.msgs === 0
    const state: Record<string, unknown> = {
      messages: s.msgs,
      bytes: s.bytes,
      first_seq: s.firstSeq,
      first_ts: empty ? NIL_TIME : new Date(s.firstTs).toISOString(),
      last_seq: s.lastSeq,
      last_ts: s.lastSeq === 0 ? NIL_TIME : new Date(s.lastTs).toISOString(),
      consumer_count: this.consumers.size,
    }
    if (s.numDeleted > 0) state['num_deleted'] = s.numDeleted
    return { config: this.config, created: this.created, state, cluster: { leader: 'switchyard' } }
  }

  /** Validates and creates a consumer (or returns the error). */
  checkNewConsumer(cfg: ConsumerConfig): ApiError | undefined {
    const sc = this.config
    if (sc.max_consumers > 0 && this.consumers.size >= sc.max_consumers) return ApiErrors.consumerCreate('maximum consumers limit reached')
    const f = cfg.filter_subject
    if (f !== undefined && !sc.subjects.some((s) => subjectIsSubset(f, s) || subjectsOverlap(f, s))) return ApiErrors.filterNotSubset()
    if (sc.retention === 'workqueue') {
      if (cfg.ack_policy !== 'explicit') return ApiErrors.wqRequiresExplicitAck()
      for (const c of this.consumers.values()) {
        const cf = c.config.filter_subject
        if (f === undefined || cf === undefined) return f === undefined && cf === undefined ? ApiErrors.wqMultipleUnfiltered() : ApiErrors.wqNotUnique()
        if (subjectsOverlap(f, cf)) return ApiErrors.wqNotUnique()
      }
    }
    return undefined
  }

  addConsumer(name: string, cfg: ConsumerConfig, created: string, state?: ConsumerState): Consumer {
    let consumer: Consumer | undefined
    const host: ConsumerHost = {
      streamName: this.name,
      store: this.store,
      retention: this.config.retention,
      deliver: (t, subj, d, h, r) => {
        this.#host.counters.outMsgs++
        this.#host.counters.outBytes += d.length
        this.#host.deliver(t, subj, d, h, r)
      },
      publish: (subject, data, headers, reply) => this.#host.broker.publish(subject, data, { ...(headers === undefined ? {} : { headers }), ...(reply === undefined ? {} : { reply }) }),
      hasInterest: (subject) => this.#host.broker.hasInterest(subject),
      onAcked: (seq) => this.onAcked(seq),
      markDirty: () => {
        if (consumer !== undefined) this.#host.consumerDirty(this, consumer)
      },
      advisory: (subject, body) => this.#host.advisory(subject, body),
    }
    consumer = new Consumer(host, name, cfg, created, state)
    this.consumers.set(name, consumer)
    return consumer
  }

  removeConsumer(name: string): boolean {
    const c = this.consumers.get(name)
    if (c === undefined) return false
    c.close()
    this.consumers.delete(name)
    this.recheckInterest()
    return true
  }
}

export function pubAckError(err: ApiError): Uint8Array {
  return enc.encode(JSON.stringify({ error: err }))
}
