// attachJetStream(): the JetStream API on top of the embedded broker. Request/reply on `$JS.API.>`,
// acks on `$JS.ACK.>`, flow-control replies on `$JS.FC.>`; streams and durable consumers of file
// storage live under storeDir/streams/<name>/ (meta.json, msgs/, consumers/<name>.json).
import { join } from 'node:path'
import type { BrokerMsg, EmbeddedBroker, Subscription } from '../types.js'
import { ApiErrors, type ApiError } from './api-errors.js'
import { isApiError, normalizeConsumerConfig, normalizeStreamConfig, validName, type ConsumerConfig, type StreamConfig } from './config.js'
import type { Consumer, ConsumerState } from './consumer.js'
import { JetStreamError, JetStreamErrorCodes } from './errors.js'
import { JsHeaders } from './js-headers.js'
import { MsgStore } from './msg-store.js'
import { resolveJetStreamOptions, type JetStreamOptions, type ResolvedJetStreamOptions } from './options.js'
import { NodeStorageIO, readWholeFile, writeFileAtomic, type StorageIO } from './storage-io.js'
import { Stream, type StreamHost } from './stream.js'
import { subjectsOverlap } from './subjects.js'
import { registerJetStreamMetrics } from './metrics.js'

export interface JetStreamHandle {
  /** /jsz-style snapshot: totals plus per-stream and per-consumer state. */
  jsz(): JszInfo
  /** Flushes consumer state, closes stores (fsync), unsubscribes. */
  close(): Promise<void>
  /** Recovery reports of the file stores opened at start-up, by stream name. */
  readonly recovery: Record<string, MsgStore['recovery']>
  readonly options: ResolvedJetStreamOptions
  /** Messages and bytes stored and delivered since start. */
  readonly counters: { readonly inMsgs: number; readonly inBytes: number; readonly outMsgs: number; readonly outBytes: number }
}

export interface JszInfo {
  server_id: string
  now: string
  config: { store_dir: string; sync: string; sync_interval_ms: number }
  streams: number
  consumers: number
  messages: number
  bytes: number
  fsyncs: number
  api: { total: number; errors: number }
  account_details: { name: string; stream_detail: Record<string, unknown>[] }[]
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const API = '$JS.API.'
const T = (t: string): string => `io.nats.jetstream.api.v1.${t}`
const PAGE = 256

/** The subject a delivered message is presented with (see PublishOptions.msgSubject). */
type DeliverPublish = (subject: string, data: Uint8Array, options: { reply?: string; headers?: JsHeaders; msgSubject?: string }) => void

export async function attachJetStream(broker: EmbeddedBroker, options: JetStreamOptions = {}): Promise<JetStreamHandle> {
  const js = new JetStream(broker, resolveJetStreamOptions(options))
  await js.open()
  return js
}

class JetStream implements JetStreamHandle, StreamHost {
  readonly broker: EmbeddedBroker
  readonly options: ResolvedJetStreamOptions
  readonly streams = new Map<string, Stream>()
  readonly recovery: Record<string, MsgStore['recovery']> = {}
  readonly counters = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 }
  readonly #io: StorageIO
  readonly #subs: Subscription[] = []
  #apiTotal = 0
  #apiErrors = 0
  #queue: Promise<void> = Promise.resolve()
  readonly #dirty = new Map<Consumer, Stream>()
  #flushing: Promise<void> | undefined
  #tick: NodeJS.Timeout | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #closed = false
  #ephemeralSeq = 0
  readonly #publish: DeliverPublish

  constructor(broker: EmbeddedBroker, options: ResolvedJetStreamOptions) {
    this.broker = broker
    this.options = options
    this.#io = options.io ?? new NodeStorageIO()
    this.#publish = broker.publish.bind(broker) as DeliverPublish
  }

  get #root(): string | undefined {
    return this.options.storeDir === undefined ? undefined : join(this.options.storeDir, 'streams')
  }

  async open(): Promise<void> {
    const root = this.#root
    if (root !== undefined) {
      try {
        this.#io.mkdirp(root)
      } catch (err) {
        throw new JetStreamError(JetStreamErrorCodes.STORE_IO, `Cannot create store directory ${JSON.stringify(root)}: ${(err as Error).message}`, { cause: err })
      }
      for (const name of this.#io.list(root)) this.#loadStream(root, name)
    }
    const b = this.broker
    this.#subs.push(b.subscribe(`${API}>`, {}, (m) => this.#onApi(m)))
    this.#subs.push(b.subscribe('$JS.ACK.>', {}, (m) => this.#onAck(m)))
    this.#subs.push(b.subscribe('$JS.FC.>', {}, (m) => this.#onFlowControl(m)))
    for (const s of this.streams.values()) s.start()
    this.#tick = setInterval(() => this.#onTick(), this.options.tickMs)
    this.#tick.unref()
    this.#flushTimer = setInterval(() => void this.#flushConsumers(), this.options.consumerFlushMs)
    this.#flushTimer.unref()
    if (this.options.registry !== undefined) registerJetStreamMetrics(this.options.registry, () => this.jsz(), this.counters)
  }

  #loadStream(root: string, name: string): void {
    const dir = join(root, name)
    const metaBytes = readWholeFile(this.#io, join(dir, 'meta.json'))
    if (metaBytes === undefined) return
    let meta: { config: StreamConfig; created: string }
    try {
      meta = JSON.parse(dec.decode(metaBytes)) as typeof meta
    } catch (err) {
      throw new JetStreamError(JetStreamErrorCodes.RECOVERY, `Cannot parse ${join(dir, 'meta.json')}: ${(err as Error).message}`, { cause: err })
    }
    // Header blocks inside the duplicate window, collected by the recovery scan itself.
    const since = Date.now() - meta.config.duplicate_window / 1e6
    const recovered: [number, number, Uint8Array][] = []
    const store = this.#openStore(meta.config, dir, (seq, ts, hdr) => {
      if (ts >= since) recovered.push([seq, ts, hdr.slice()])
    })
    this.recovery[name] = store.recovery
    if (store.recovery.corruptRecords > 0 || store.recovery.truncatedBytes > 0) {
      this.options.logger?.warn({ stream: name, recovery: store.recovery }, 'stream recovered with damage: corrupt records skipped, torn tail truncated')
    }
    const stream = new Stream(this, meta.config, meta.created, store, recovered)
    this.streams.set(name, stream)
    const cdir = join(dir, 'consumers')
    for (const file of this.#io.list(cdir)) {
      if (!file.endsWith('.json')) continue
      const bytes = readWholeFile(this.#io, join(cdir, file))
      if (bytes === undefined) continue
      try {
        const c = JSON.parse(dec.decode(bytes)) as { name: string; config: ConsumerConfig; created: string; state: ConsumerState }
        stream.addConsumer(c.name, c.config, c.created, c.state)
      } catch (err) {
        throw new JetStreamError(JetStreamErrorCodes.RECOVERY, `Cannot parse ${join(cdir, file)}: ${(err as Error).message}`, { cause: err })
      }
    }
  }

  #openStore(cfg: StreamConfig, dir: string | undefined, onRecoveredHeaders?: (seq: number, ts: number, hdr: Uint8Array) => void): MsgStore {
    const o = this.options
    const file = cfg.storage === 'file'
    return new MsgStore({
      kind: file ? 'file' : 'memory',
      io: this.#io,
      ...(file && dir !== undefined ? { dir: join(dir, 'msgs') } : {}),
      sync: o.sync,
      syncIntervalMs: o.syncIntervalMs,
      segmentBytes: o.segmentBytes,
      cacheBytes: o.cacheBytes,
      ...(onRecoveredHeaders === undefined ? {} : { onRecoveredHeaders }),
    })
  }

  // ---- StreamHost ---------------------------------------------------------------------------

  deliver(target: string, subject: string, data: Uint8Array, headers: JsHeaders | undefined, reply: string): void {
    this.#publish(target, data, { reply, ...(headers === undefined ? {} : { headers }), msgSubject: subject })
  }

  consumerDirty(stream: Stream, consumer: Consumer): void {
    if (stream.config.storage === 'file' && !consumer.ephemeral && consumer.config.mem_storage !== true) this.#dirty.set(consumer, stream)
  }

  advisory(subject: string, body: Record<string, unknown>): void {
    const full = { ...body, id: `${Date.now().toString(36)}${(++this.#ephemeralSeq).toString(36)}`, timestamp: new Date().toISOString() }
    if (this.broker.hasInterest(subject)) this.broker.publish(subject, JSON.stringify(full))
  }

  // ---- API ----------------------------------------------------------------------------------

  #reply(reply: string, type: string, body: Record<string, unknown>): void {
    if (reply === '') return
    this.broker.publish(reply, enc.encode(JSON.stringify({ type: T(type), ...body })))
  }

  #error(reply: string, type: string, err: ApiError): void {
    this.#apiErrors++
    this.#reply(reply, type, { error: err })
  }

  #onApi(m: BrokerMsg): void {
    this.#apiTotal++
    const rest = m.subject.slice(API.length)
    const toks = rest.split('.')
    // Hot paths stay synchronous: pull requests and direct gets.
    if (toks[0] === 'CONSUMER' && toks[1] === 'MSG' && toks[2] === 'NEXT') {
      const c = this.streams.get(toks[3] ?? '')?.consumers.get(toks[4] ?? '')
      if (c === undefined) {
        if (m.reply !== '') this.broker.publish(m.reply, new Uint8Array(0), { headers: JsHeaders.status(404, 'No Such Consumer') })
        return
      }
      c.onNextRequest(m.reply, m.data)
      return
    }
    if (toks[0] === 'DIRECT' && toks[1] === 'GET') {
      this.#directGet(toks, m)
      return
    }
    const data = m.data.slice()
    const reply = m.reply
    // Everything else is serialised so that creates, deletes and their file writes never interleave.
    this.#queue = this.#queue.then(() => this.#handleApi(toks, data, reply)).catch((err: unknown) => {
      this.options.logger?.error({ err, subject: m.subject }, 'jetstream api request failed')
      this.#error(reply, 'api_error', ApiErrors.internal(err instanceof Error ? err.message : String(err)))
    })
  }

  async #handleApi(t: string[], data: Uint8Array, reply: string): Promise<void> {
    let body: Record<string, unknown> = {}
    const text = dec.decode(data).trim()
    if (text !== '') {
      try {
        const parsed: unknown = JSON.parse(text)
        if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
      } catch {
        return this.#error(reply, 'api_error', ApiErrors.badRequest())
      }
    }
    const [a, b, c, d] = t
    if (a === 'INFO' && t.length === 1) return this.#accountInfo(reply)
    if (a === 'STREAM') {
      switch (b) {
        case 'CREATE':
          return this.#streamCreate(c ?? '', body, reply)
        case 'UPDATE':
          return this.#streamUpdate(c ?? '', body, reply)
        case 'INFO':
          return this.#withStream(c, reply, 'stream_info_response', (s) => this.#reply(reply, 'stream_info_response', this.#streamInfo(s, body)))
        case 'DELETE':
          return this.#streamDelete(c ?? '', reply)
        case 'PURGE':
          return this.#withStream(c, reply, 'stream_purge_response', (s) => {
            if (s.config.deny_purge) return this.#error(reply, 'stream_purge_response', ApiErrors.purgeFailed('stream purge not permitted'))
            const purged = s.purge({
              ...(typeof body['filter'] === 'string' ? { filter: body['filter'] } : {}),
              ...(typeof body['seq'] === 'number' ? { seq: body['seq'] } : {}),
              ...(typeof body['keep'] === 'number' ? { keep: body['keep'] } : {}),
            })
            this.#reply(reply, 'stream_purge_response', { success: true, purged })
          })
        case 'NAMES':
        case 'LIST':
          return this.#streamList(b, body, reply)
        case 'MSG':
          if (c === 'GET') return this.#msgGet(d ?? '', body, reply)
          if (c === 'DELETE') {
            return this.#withStream(d, reply, 'stream_msg_delete_response', (s) => {
              const seq = typeof body['seq'] === 'number' ? body['seq'] : 0
              if (s.config.deny_delete) return this.#error(reply, 'stream_msg_delete_response', ApiErrors.streamInvalidConfig('message delete not permitted'))
              if (!s.store.delete(seq)) return this.#error(reply, 'stream_msg_delete_response', e404msg(seq))
              for (const cons of s.consumers.values()) cons.onStreamPurged()
              this.#reply(reply, 'stream_msg_delete_response', { success: true })
            })
          }
      }
    }
    if (a === 'CONSUMER') {
      if (b === 'CREATE') return this.#consumerCreate(c ?? '', d, t.length > 4 ? t.slice(4).join('.') : undefined, body, reply)
      if (b === 'DURABLE' && c === 'CREATE') return this.#consumerCreate(d ?? '', t[4], undefined, body, reply, true)
      if (b === 'INFO') return this.#withConsumer(c, d, reply, 'consumer_info_response', (_s, cons) => this.#reply(reply, 'consumer_info_response', cons.info()))
      if (b === 'DELETE') {
        return this.#withConsumer(c, d, reply, 'consumer_delete_response', async (s, cons) => {
          s.removeConsumer(cons.name)
          this.#dirty.delete(cons)
          const root = this.#root
          if (root !== undefined && s.config.storage === 'file') this.#io.remove(join(root, s.name, 'consumers', `${cons.name}.json`))
          this.#reply(reply, 'consumer_delete_response', { success: true })
        })
      }
      if (b === 'NAMES' || b === 'LIST') {
        return this.#withStream(c, reply, b === 'NAMES' ? 'consumer_names_response' : 'consumer_list_response', (s) => {
          const offset = typeof body['offset'] === 'number' ? body['offset'] : 0
          const all = [...s.consumers.values()].sort((x, y) => (x.name < y.name ? -1 : 1))
          const page = all.slice(offset, offset + PAGE)
          const consumers = b === 'NAMES' ? page.map((x) => x.name) : page.map((x) => x.info())
          this.#reply(reply, b === 'NAMES' ? 'consumer_names_response' : 'consumer_list_response', { total: all.length, offset, limit: PAGE, consumers })
        })
      }
    }
    this.#error(reply, 'api_error', { code: 400, err_code: 10003, description: 'bad request' })
  }

  async #withStream(name: string | undefined, reply: string, type: string, fn: (s: Stream) => void | Promise<void>): Promise<void> {
    const s = this.streams.get(name ?? '')
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    await fn(s)
  }

  async #withConsumer(stream: string | undefined, name: string | undefined, reply: string, type: string, fn: (s: Stream, c: Consumer) => void | Promise<void>): Promise<void> {
    const s = this.streams.get(stream ?? '')
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    const c = s.consumers.get(name ?? '')
    if (c === undefined) return this.#error(reply, type, ApiErrors.consumerNotFound())
    await fn(s, c)
  }

  #accountInfo(reply: string): void {
    let memory = 0
    let storage = 0
    let consumers = 0
    for (const s of this.streams.values()) {
      if (s.config.storage === 'memory') memory += s.store.bytes
      else storage += s.store.bytes
      consumers += s.consumers.size
    }
    this.#reply(reply, 'account_info_response', {
      memory,
      storage,
      streams: this.streams.size,
      consumers,
      limits: { max_memory: -1, max_storage: -1, max_streams: -1, max_consumers: -1, max_ack_pending: -1, memory_max_stream_bytes: -1, storage_max_stream_bytes: -1, max_bytes_required: false },
      api: { total: this.#apiTotal, errors: this.#apiErrors },
    })
  }

  #streamInfo(s: Stream, body: Record<string, unknown>): Record<string, unknown> {
    const info = s.info()
    const filter = body['subjects_filter']
    if (typeof filter === 'string' && filter !== '') {
      const { matcher } = { matcher: (p: string) => (sub: string) => p === '>' || subjectsOverlap(p, sub) }
      const subjects = s.store.subjectCounts(matcher(filter))
      ;(info['state'] as Record<string, unknown>)['subjects'] = subjects
      ;(info['state'] as Record<string, unknown>)['num_subjects'] = Object.keys(subjects).length
    }
    return info
  }

  async #streamCreate(name: string, body: Record<string, unknown>, reply: string): Promise<void> {
    const type = 'stream_create_response'
    const cfg = normalizeStreamConfig(body, name, this.options)
    if (isApiError(cfg)) return this.#error(reply, type, cfg)
    if (cfg.storage === 'file' && this.#root === undefined) return this.#error(reply, type, ApiErrors.streamInvalidConfig('file storage requires a store directory (--store-dir)'))
    const existing = this.streams.get(name)
    if (existing !== undefined) {
      if (JSON.stringify(existing.config) === JSON.stringify(cfg)) return this.#reply(reply, type, existing.info())
      return this.#error(reply, type, ApiErrors.streamNameExists())
    }
    for (const other of this.streams.values()) {
      for (const a of other.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return this.#error(reply, type, ApiErrors.streamSubjectOverlap())
    }
    const created = new Date().toISOString()
    const dir = this.#root === undefined ? undefined : join(this.#root, name)
    if (cfg.storage === 'file' && dir !== undefined) {
      this.#io.remove(dir) // leftovers of a stream deleted before a crash
      this.#io.mkdirp(dir)
      await writeFileAtomic(this.#io, join(dir, 'meta.json'), enc.encode(JSON.stringify({ config: cfg, created })))
    }
    const stream = new Stream(this, cfg, created, this.#openStore(cfg, dir))
    this.streams.set(name, stream)
    stream.start()
    this.#reply(reply, type, stream.info())
  }

  async #streamUpdate(name: string, body: Record<string, unknown>, reply: string): Promise<void> {
    const type = 'stream_update_response'
    const s = this.streams.get(name)
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    const cfg = normalizeStreamConfig(body, name, this.options)
    if (isApiError(cfg)) return this.#error(reply, type, cfg)
    const old = s.config
    if (cfg.storage !== old.storage) return this.#error(reply, type, ApiErrors.streamInvalidConfig('stream configuration update can not change storage type'))
    if (cfg.retention !== old.retention) return this.#error(reply, type, ApiErrors.streamInvalidConfig('stream configuration update can not change retention policy'))
    for (const other of this.streams.values()) {
      if (other === s) continue
      for (const a of other.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return this.#error(reply, type, ApiErrors.streamSubjectOverlap())
    }
    if (cfg.storage === 'file' && this.#root !== undefined) {
      await writeFileAtomic(this.#io, join(this.#root, name, 'meta.json'), enc.encode(JSON.stringify({ config: cfg, created: s.created })))
    }
    const subjectsChanged = JSON.stringify(cfg.subjects) !== JSON.stringify(old.subjects)
    s.config = cfg
    if (subjectsChanged) s.restart()
    s.enforceLimits()
    for (const c of s.consumers.values()) c.onStreamPurged()
    this.#reply(reply, type, s.info())
  }

  async #streamDelete(name: string, reply: string): Promise<void> {
    const type = 'stream_delete_response'
    const s = this.streams.get(name)
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    s.stop(true)
    this.streams.delete(name)
    for (const c of s.consumers.values()) this.#dirty.delete(c)
    await s.store.destroy()
    if (this.#root !== undefined) this.#io.remove(join(this.#root, name))
    this.#reply(reply, type, { success: true })
  }

  #streamList(kind: 'NAMES' | 'LIST', body: Record<string, unknown>, reply: string): void {
    const type = kind === 'NAMES' ? 'stream_names_response' : 'stream_list_response'
    const offset = typeof body['offset'] === 'number' ? body['offset'] : 0
    const subject = typeof body['subject'] === 'string' ? body['subject'] : ''
    let all = [...this.streams.values()].sort((x, y) => (x.name < y.name ? -1 : 1))
    if (subject !== '') all = all.filter((s) => s.config.subjects.some((p) => subjectsOverlap(p, subject)))
    const page = all.slice(offset, offset + PAGE)
    this.#reply(reply, type, { total: all.length, offset, limit: PAGE, streams: kind === 'NAMES' ? page.map((s) => s.name) : page.map((s) => s.info()) })
  }

  #findMsg(s: Stream, body: Record<string, unknown>): number {
    const store = s.store
    if (typeof body['last_by_subj'] === 'string') {
      const subj = body['last_by_subj']
      const { matcher } = { matcher: (p: string) => (sub: string) => p === sub || subjectsOverlap(p, sub) }
      return /[*>]/.test(subj) ? store.lastSeqFor('', matcher(subj)) : store.lastSeqFor(subj)
    }
    const seq = typeof body['seq'] === 'number' ? body['seq'] : 0
    if (typeof body['next_by_subj'] === 'string') {
      const subj = body['next_by_subj']
      return store.nextSeq(Math.max(seq, 1), (x) => x === subj || subjectsOverlap(subj, x))
    }
    return store.has(seq) ? seq : 0
  }

  #msgGet(name: string, body: Record<string, unknown>, reply: string): void {
    const type = 'stream_msg_get_response'
    const s = this.streams.get(name)
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    const seq = this.#findMsg(s, body)
    const m = seq === 0 ? undefined : s.store.get(seq)
    if (m === undefined) return this.#error(reply, type, ApiErrors.noMessageFound())
    const message: Record<string, unknown> = { subject: m.subject, seq: m.seq, data: Buffer.from(m.data).toString('base64'), time: new Date(m.ts).toISOString() }
    if (m.hdr !== undefined) message['hdrs'] = Buffer.from(m.hdr).toString('base64')
    this.#reply(reply, type, { message })
  }

  #directGet(t: string[], m: BrokerMsg): void {
    const s = this.streams.get(t[2] ?? '')
    if (s === undefined || !s.config.allow_direct || m.reply === '') return
    let body: Record<string, unknown> = {}
    if (t.length > 3) body = { last_by_subj: t.slice(3).join('.') }
    else {
      try {
        const parsed: unknown = JSON.parse(dec.decode(m.data) || '{}')
        if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
      } catch {
        this.broker.publish(m.reply, new Uint8Array(0), { headers: JsHeaders.status(408, 'Bad Request') })
        return
      }
    }
    const seq = this.#findMsg(s, body)
    const msg = seq === 0 ? undefined : s.store.get(seq)
    if (msg === undefined) {
      this.broker.publish(m.reply, new Uint8Array(0), { headers: JsHeaders.status(404, 'Message Not Found') })
      return
    }
    const h = msg.hdr === undefined ? new JsHeaders() : JsHeaders.parse(msg.hdr)
    h.set('Nats-Stream', s.name)
    h.set('Nats-Subject', msg.subject)
    h.set('Nats-Sequence', String(msg.seq))
    h.set('Nats-Time-Stamp', new Date(msg.ts).toISOString())
    this.broker.publish(m.reply, msg.data, { headers: h })
  }

  async #consumerCreate(streamName: string, nameInSubject: string | undefined, filterInSubject: string | undefined, body: Record<string, unknown>, reply: string, legacyDurable = false): Promise<void> {
    const type = 'consumer_create_response'
    const s = this.streams.get(streamName)
    if (s === undefined) return this.#error(reply, type, ApiErrors.streamNotFound())
    if (typeof body['stream_name'] === 'string' && body['stream_name'] !== streamName) return this.#error(reply, type, ApiErrors.streamNameMismatch())
    const raw = (typeof body['config'] === 'object' && body['config'] !== null ? body['config'] : {}) as Record<string, unknown>
    const cfg = normalizeConsumerConfig(raw, this.options)
    if (isApiError(cfg)) return this.#error(reply, type, cfg)
    if (legacyDurable) {
      if (cfg.durable_name === undefined && nameInSubject !== undefined) cfg.durable_name = nameInSubject
      if (cfg.durable_name !== nameInSubject) return this.#error(reply, type, ApiErrors.consumerCreate('consumer name in subject does not match durable name in request'))
    } else if (nameInSubject !== undefined) {
      if (cfg.name !== undefined && cfg.name !== nameInSubject) return this.#error(reply, type, ApiErrors.consumerCreate('consumer name in subject does not match name in request'))
      if (cfg.durable_name !== undefined && cfg.durable_name !== nameInSubject) return this.#error(reply, type, ApiErrors.consumerDurableNameMismatch())
      if (filterInSubject !== undefined && cfg.filter_subject !== undefined && cfg.filter_subject !== filterInSubject) return this.#error(reply, type, ApiErrors.consumerCreate('consumer filter subject does not match subject in request'))
    }
    if (cfg.name !== undefined && cfg.durable_name !== undefined && cfg.name !== cfg.durable_name) return this.#error(reply, type, ApiErrors.consumerDurableNameMismatch())
    const name = cfg.durable_name ?? cfg.name ?? nameInSubject ?? this.#ephemeralName()
    if (!validName(name)) return this.#error(reply, type, ApiErrors.consumerCreate('consumer name is invalid'))
    const existing = s.consumers.get(name)
    if (existing !== undefined) {
      const a = { ...existing.config, name: undefined }
      const b = { ...cfg, name: undefined }
      if (JSON.stringify(a) === JSON.stringify(b)) return this.#reply(reply, type, existing.info())
      const immutable = ['deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'replay_policy', 'filter_subject'] as const
      if (immutable.some((k) => JSON.stringify(existing.config[k]) !== JSON.stringify(cfg[k])) || (existing.isPush !== (cfg.deliver_subject !== undefined))) {
        return this.#error(reply, type, ApiErrors.consumerNameExists())
      }
      existing.update(cfg)
      this.consumerDirty(s, existing)
      return this.#reply(reply, type, existing.info())
    }
    const err = s.checkNewConsumer(cfg)
    if (err !== undefined) return this.#error(reply, type, err)
    const created = new Date().toISOString()
    const consumer = s.addConsumer(name, cfg, created)
    if (s.config.storage === 'file' && !consumer.ephemeral && cfg.mem_storage !== true && this.#root !== undefined) {
      this.#io.mkdirp(join(this.#root, s.name, 'consumers'))
      await this.#saveConsumer(s, consumer)
    }
    this.#reply(reply, type, consumer.info())
    consumer.pump()
  }

  #ephemeralName(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
    let out = ''
    for (let i = 0; i < 8; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)]
    return out
  }

  // ---- acks, flow control, timers ----------------------------------------------------------

  #onAck(m: BrokerMsg): void {
    // $JS.ACK.<stream>.<consumer>.<deliveries>.<sseq>.<cseq>.<ts>.<pending>
    const t = m.subject.split('.')
    if (t.length < 9) return
    const c = this.streams.get(t[2] as string)?.consumers.get(t[3] as string)
    if (c === undefined) return
    c.onAck(Number(t[5]), m.data, m.reply)
  }

  #onFlowControl(m: BrokerMsg): void {
    const t = m.subject.split('.')
    this.streams.get(t[2] ?? '')?.consumers.get(t[3] ?? '')?.onFlowControlReply(m.subject)
  }

  #onTick(): void {
    const now = Date.now()
    for (const s of this.streams.values()) {
      s.tick(now)
      for (const c of [...s.consumers.values()]) {
        if (!c.ephemeral) continue
        const threshold = c.config.inactive_threshold !== undefined ? c.config.inactive_threshold / 1e6 : this.options.ephemeralInactiveMs
        const busy = c.isPush ? this.broker.hasInterest(c.config.deliver_subject as string) : c.numWaiting > 0
        if (!busy && now - c.lastActive > threshold) s.removeConsumer(c.name)
      }
    }
  }

  async #saveConsumer(s: Stream, c: Consumer): Promise<void> {
    const root = this.#root
    if (root === undefined) return
    const body = JSON.stringify({ name: c.name, config: c.config, created: c.created, state: c.state() })
    await writeFileAtomic(this.#io, join(root, s.name, 'consumers', `${c.name}.json`), enc.encode(body))
  }

  #flushConsumers(): Promise<void> {
    if (this.#flushing !== undefined || this.#dirty.size === 0) return this.#flushing ?? Promise.resolve()
    const batch = [...this.#dirty]
    this.#dirty.clear()
    this.#flushing = (async () => {
      for (const [c, s] of batch) {
        if (this.streams.get(s.name) !== s || s.consumers.get(c.name) !== c) continue
        try {
          await this.#saveConsumer(s, c)
        } catch (err) {
          this.options.logger?.error({ err, stream: s.name, consumer: c.name }, 'cannot save consumer state')
        }
      }
    })().finally(() => {
      this.#flushing = undefined
    })
    return this.#flushing
  }

  jsz(): JszInfo {
    let consumers = 0
    let messages = 0
    let bytes = 0
    let fsyncs = 0
    const detail: Record<string, unknown>[] = []
    for (const s of this.streams.values()) {
      consumers += s.consumers.size
      messages += s.store.msgs
      bytes += s.store.bytes
      fsyncs += s.store.fsyncs
      detail.push({ name: s.name, created: s.created, config: s.config, state: s.info()['state'], consumer_detail: [...s.consumers.values()].map((c) => c.info()) })
    }
    return {
      server_id: this.options.serverName,
      now: new Date().toISOString(),
      config: { store_dir: this.options.storeDir ?? '', sync: this.options.sync, sync_interval_ms: this.options.syncIntervalMs },
      streams: this.streams.size,
      consumers,
      messages,
      bytes,
      fsyncs,
      api: { total: this.#apiTotal, errors: this.#apiErrors },
      account_details: [{ name: '$G', stream_detail: detail }],
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#tick)
    clearInterval(this.#flushTimer)
    for (const sub of this.#subs) sub.unsubscribe()
    await this.#queue.catch(() => {})
    for (const s of this.streams.values()) s.stop()
    while (this.#flushing !== undefined) await this.#flushing
    for (const s of this.streams.values()) for (const c of s.consumers.values()) this.consumerDirty(s, c)
    await this.#flushConsumers()
    for (const s of this.streams.values()) await s.store.close()
  }
}

function e404msg(_seq: number): ApiError {
  return ApiErrors.noMessageFound()
}
