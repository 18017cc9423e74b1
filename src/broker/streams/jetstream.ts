// attachJetStream(): the JetStream API on top of the embedded broker. Request/reply on `$JS.API.>`,
// acks on `$JS.ACK.>`, flow-control replies on `$JS.FC.>`; streams and durable consumers of file
// storage live under storeDir/streams/<name>/ (meta.json, msgs/, consumers/<name>.json).
import { join } from 'node:path'
import type { BrokerMsg, EmbeddedBroker, MsgSender, Subscription } from '../types.js'
import { consumerFile, type ApiContext } from './api-context.js'
import { ApiErrors, type ApiError } from './api-errors.js'
import type { ConsumerConfig, StreamConfig } from './config.js'
import type { Consumer, ConsumerState } from './consumer.js'
import { consumerCreate, consumerDelete, consumerInfo, consumerList } from './consumer-api.js'
import { JetStreamError, JetStreamErrorCodes } from './errors.js'
import { JsHeaders } from './js-headers.js'
import { directGet, msgDelete, msgGet } from './msg-api.js'
import { MsgStore } from './msg-store.js'
import { resolveJetStreamOptions, type JetStreamOptions, type ResolvedJetStreamOptions } from './options.js'
import { NodeStorageIO, readWholeFile, writeFileAtomic, type StorageIO } from './storage-io.js'
import { Stream, type StreamHost } from './stream.js'
import { streamCreate, streamDelete, streamInfo, streamList, streamPurge, streamUpdate } from './stream-api.js'
import { registerJetStreamMetrics } from './metrics.js'

export interface JetStreamHandle {
  /** /jsz-style snapshot: totals over all streams plus per-stream and per-consumer state for the
   *  page [offset, offset + limit) of the streams sorted by name (default 0 and JSZ_PAGE_LIMIT). */
  jsz(page?: { offset?: number; limit?: number }): JszInfo
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
  /** The page of streams in account_details. */
  offset: number
  limit: number
  account_details: { name: string; stream_detail: Record<string, unknown>[] }[]
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const API = '$JS.API.'
/** Streams detailed per /jsz page unless ?limit= says otherwise. */
export const JSZ_PAGE_LIMIT = 1024
const T = (t: string): string => `io.nats.jetstream.api.v1.${t}`

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
  /** What the $JS.API handlers (stream-api, msg-api, consumer-api) see of this instance. */
  readonly #api: ApiContext

  constructor(broker: EmbeddedBroker, options: ResolvedJetStreamOptions) {
    this.broker = broker
    this.options = options
    this.#io = options.io ?? new NodeStorageIO()
    this.#publish = broker.publish.bind(broker) as DeliverPublish
    const js = this
    this.#api = {
      host: this,
      streams: this.streams,
      options,
      io: this.#io,
      get root() {
        return js.#root
      },
      reply: (reply, type, body) => this.#reply(reply, type, body),
      error: (reply, type, err) => this.#error(reply, type, err),
      openStore: (cfg, dir) => this.#openStore(cfg, dir),
      saveConsumer: (s, c) => this.#saveConsumer(s, c),
      forgetDirty: (c) => {
        this.#dirty.delete(c)
      },
    }
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
    // `$JS.API` answers this node's clients only; in a cluster other nodes' clients use the domain.
    this.#subs.push(b.subscribe(`${API}>`, { local: true }, (m) => this.#onApi(m, m.subject.slice(API.length))))
    const domain = this.options.domain
    if (domain !== undefined) {
      const prefix = `$JS.${domain}.API.`
      this.#subs.push(b.subscribe(`${prefix}>`, {}, (m) => this.#onApi(m, m.subject.slice(prefix.length))))
    }
    this.#subs.push(b.subscribe('$JS.ACK.>', {}, (m) => this.#onAck(m)))
    this.#subs.push(b.subscribe('$JS.FC.>', {}, (m) => this.#onFlowControl(m)))
    for (const s of this.streams.values()) s.start()
    this.#tick = setInterval(() => this.#onTick(), this.options.tickMs)
    this.#tick.unref()
    this.#flushTimer = setInterval(() => void this.#flushConsumers(), this.options.consumerFlushMs)
    this.#flushTimer.unref()
    if (this.options.registry !== undefined) registerJetStreamMetrics(this.options.registry, () => this.jsz({ limit: Number.MAX_SAFE_INTEGER }), this.counters)
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

  /** `rest` is the subject after `$JS.API.` (or `$JS.<domain>.API.`). */
  #onApi(m: BrokerMsg, rest: string): void {
    this.#apiTotal++
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
      directGet(this.#api, toks, m)
      return
    }
    const data = m.data.slice()
    const reply = m.reply
    const sender = m.sender
    // Everything else is serialised so that creates, deletes and their file writes never interleave.
    this.#queue = this.#queue.then(() => this.#handleApi(toks, data, reply, sender)).catch((err: unknown) => {
      // The details (file paths, errno) go to the log, not to the client.
      this.options.logger?.error({ err, subject: m.subject }, 'jetstream api request failed')
      this.#error(reply, 'api_error', ApiErrors.internal('internal error, see the server log'))
    })
  }

  async #handleApi(t: string[], data: Uint8Array, reply: string, sender: MsgSender | undefined): Promise<void> {
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
    const ctx = this.#api
    const [a, b, c, d] = t
    if (a === 'INFO' && t.length === 1) return this.#accountInfo(reply)
    if (a === 'STREAM') {
      switch (b) {
        case 'CREATE':
          return streamCreate(ctx, c ?? '', body, reply)
        case 'UPDATE':
          return streamUpdate(ctx, c ?? '', body, reply)
        case 'INFO':
          return streamInfo(ctx, c, body, reply)
        case 'DELETE':
          return streamDelete(ctx, c ?? '', reply)
        case 'PURGE':
          return streamPurge(ctx, c, body, reply)
        case 'NAMES':
        case 'LIST':
          return streamList(ctx, b, body, reply)
        case 'MSG':
          if (c === 'GET') return msgGet(ctx, d ?? '', body, reply)
          if (c === 'DELETE') return msgDelete(ctx, d, body, reply)
      }
    }
    if (a === 'CONSUMER') {
      if (b === 'CREATE') return consumerCreate(ctx, c ?? '', d, t.length > 4 ? t.slice(4).join('.') : undefined, body, reply, sender)
      if (b === 'DURABLE' && c === 'CREATE') return consumerCreate(ctx, d ?? '', t[4], undefined, body, reply, sender, true)
      if (b === 'INFO') return consumerInfo(ctx, c, d, reply)
      if (b === 'DELETE') return consumerDelete(ctx, c, d, reply)
      if (b === 'NAMES' || b === 'LIST') return consumerList(ctx, b, c, body, reply)
    }
    this.#error(reply, 'api_error', { code: 400, err_code: 10003, description: 'bad request' })
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

  // ---- acks, flow control, timers ----------------------------------------------------------

  #onAck(m: BrokerMsg): void {
    // $JS.ACK.<stream>.<consumer>.<deliveries>.<sseq>.<cseq>.<ts>.<pending>
    const t = m.subject.split('.')
    if (t.length < 9) return
    const c = this.streams.get(t[2] as string)?.consumers.get(t[3] as string)
    if (c === undefined) return
    // The stream sequence must be exact: "1e999" as +ACK with ack_policy all would ack everything.
    const sseq = /^[1-9]\d{0,15}$/.test(t[5] as string) ? Number(t[5]) : 0
    if (!Number.isSafeInteger(sseq) || sseq === 0) return
    c.onAck(sseq, m.data, m.reply)
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
    await writeFileAtomic(this.#io, consumerFile(root, s.name, c.name), enc.encode(body))
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

  jsz(page: { offset?: number; limit?: number } = {}): JszInfo {
    let consumers = 0
    let messages = 0
    let bytes = 0
    let fsyncs = 0
    for (const s of this.streams.values()) {
      consumers += s.consumers.size
      messages += s.store.msgs
      bytes += s.store.bytes
      fsyncs += s.store.fsyncs
    }
    // Details (consumer info walks the store) only for the requested page, not for every stream.
    const offset = Math.max(0, page.offset ?? 0)
    const limit = Math.max(0, page.limit ?? JSZ_PAGE_LIMIT)
    const names = [...this.streams.keys()].sort().slice(offset, offset + limit)
    const detail = names.map((n) => {
      const s = this.streams.get(n) as Stream
      return { name: s.name, created: s.created, config: s.config, state: s.info()['state'], consumer_detail: [...s.consumers.values()].map((c) => c.info()) }
    })
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
      offset,
      limit,
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
