// Per-stream message store: a MsgIndex over either nothing (memory storage) or a SegmentLog on a
// StorageIO (file storage), with a bounded payload cache, read-ahead, tombstones and crash recovery.
import { JetStreamError, JetStreamErrorCodes } from './errors.js'
import { MsgIndex } from './msg-index.js'
import { bodyEnd, decodeRecord, DecodeStatus, type DecodedRecord, encodeMsgRecord, RecordKind, type RecordKindValue } from './record.js'
import { type CacheableEntry, PayloadCache } from './payload-cache.js'
import { SegmentLog, type SyncPolicyValue } from './segment-log.js'
import { type RecoveryReport, scanSegments, type Segment } from './segments.js'
import type { StorageIO } from './storage-io.js'

export { SyncPolicy, type SyncPolicyValue } from './segment-log.js'

export interface StoredMsg {
  readonly seq: number
  /** Epoch milliseconds. */
  readonly ts: number
  readonly subject: string
  /** Raw NATS header block, undefined when none. */
  readonly hdr: Uint8Array | undefined
  readonly data: Uint8Array
}

export interface MsgStoreOptions {
  /** 'memory' keeps nothing on disk. */
  kind: 'file' | 'memory'
  io?: StorageIO
  /** Directory holding this stream's segments (file storage). */
  dir?: string
  sync: SyncPolicyValue
  syncIntervalMs: number
  segmentBytes: number
  /** Payload bytes kept in memory for already-written records. */
  cacheBytes: number
  /** Called during recovery for each stored message that has headers (the view is valid during the call). */
  onRecoveredHeaders?: (seq: number, ts: number, hdr: Uint8Array) => void
}

interface Entry extends CacheableEntry {
  seq: number
  ts: number
  subject: string
  size: number
  seg: Segment | undefined
  off: number
  len: number
}

/** nats-server's memory store accounting: subject + headers + payload + 16. */
export function msgSize(subject: string, hdrLen: number, dataLen: number): number {
  return subject.length + hdrLen + dataLen + 16
}

/** Bytes read per cache miss; later records in the block are cached for the reads that follow. */
const READ_AHEAD_BYTES = 256 * 1024

export class MsgStore {
  readonly #opts: MsgStoreOptions
  readonly #index = new MsgIndex<Entry>()
  /** File storage only. */
  readonly #log: SegmentLog | undefined
  /** Appended entries whose records the log has not yet handed to the file. */
  #pendingEntries: Entry[] = []
  // Payload cache of written records, oldest first.
  readonly #cache: PayloadCache<Entry>
  #closed = false
  corruptReads = 0
  readonly recovery: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, corruptAt: [] }

  constructor(opts: MsgStoreOptions) {
    this.#opts = opts
    this.#cache = new PayloadCache(opts.cacheBytes)
    if (opts.kind === 'file') {
      if (opts.io === undefined || opts.dir === undefined) throw new JetStreamError(JetStreamErrorCodes.OPTIONS, 'Cannot open a file store without io and dir')
      const log = new SegmentLog({ io: opts.io, dir: opts.dir, sync: opts.sync, syncIntervalMs: opts.syncIntervalMs, segmentBytes: opts.segmentBytes, onFlush: () => this.#onFlush() })
      this.#log = log
      this.#recover(opts.io, opts.dir, log)
      log.start()
    }
  }

  get firstSeq(): number {
    return this.#index.firstSeq
  }
  get lastSeq(): number {
    return this.#index.lastSeq
  }
  get msgs(): number {
    return this.#index.msgs
  }
  get bytes(): number {
    return this.#index.bytes
  }
  get lastTs(): number {
    return this.#index.lastTs
  }
  get firstTs(): number {
    return this.#index.firstTs
  }
  get numDeleted(): number {
    return this.#index.numDeleted
  }
  get segmentCount(): number {
    return this.#log?.segments.length ?? 0
  }
  get isFile(): boolean {
    return this.#log !== undefined
  }
  /** fsync calls made by the file store's log. */
  get fsyncs(): number {
    return this.#log?.fsyncs ?? 0
  }

  /** Appends a message and returns its sequence; see onDurable for when it is safe. */
  append(subject: string, hdr: Uint8Array | undefined, data: Uint8Array, ts = Date.now()): number {
    if (this.#closed) throw new JetStreamError(JetStreamErrorCodes.STORE_CLOSED, 'Cannot append: the store is closed')
    const seq = this.#index.lastSeq + 1
    // Timestamps never go backwards inside a stream, so seek-by-time can binary search.
    const t = ts < this.#index.lastTs ? this.#index.lastTs : ts
    const e: Entry = { seq, ts: t, subject, size: msgSize(subject, hdr?.length ?? 0, data.length), seg: undefined, off: 0, len: 0, hdr, data, cached: false }
    const log = this.#log
    if (log === undefined) {
      // The caller's bytes may be a view into a socket buffer: keep a copy.
      e.data = data.slice()
    } else {
      const rec = encodeMsgRecord(seq, t, subject, hdr, data)
      // The record already holds a copy: the cache points into it instead of copying again.
      const end = bodyEnd(rec)
      e.data = rec.subarray(end - data.length, end)
      const seg = log.writableSegment(seq, rec.length)
      e.seg = seg
      e.off = seg.file.size + log.pendingBytes
      e.len = rec.length
      seg.live++
      log.queue(rec, seg)
      this.#pendingEntries.push(e)
    }
    this.#index.insert(e)
    return seq
  }

  /** Written records keep their payloads in the cache while they are still indexed. */
  #onFlush(): void {
    for (const e of this.#pendingEntries) {
      if (this.#index.entry(e.seq) === e) {
        this.#cache.add(e)
      }
    }
    this.#pendingEntries = []
    this.#cache.evict()
  }

  /** Calls `cb` once everything appended so far is durable per the sync policy. */
  onDurable(cb: () => void): void {
    if (this.#log === undefined) {
      cb()
      return
    }
    this.#log.onDurable(cb)
  }

  /** Resolves when everything appended so far is written and fsynced. */
  sync(): Promise<void> {
    if (this.#log === undefined) return Promise.resolve()
    return this.#log.sync()
  }

  get(seq: number): StoredMsg | undefined {
    const e = this.#index.entry(seq)
    if (e === undefined) return undefined
    if (e.data !== undefined) return { seq, ts: e.ts, subject: e.subject, hdr: e.hdr, data: e.data }
    const seg = e.seg as Segment
    // Read ahead: consumers read in order, so one read fills the cache for the records that follow.
    const buf = seg.file.read(e.off, Math.max(e.len, READ_AHEAD_BYTES))
    const r = decodeRecord(buf, 0)
    if (r.status !== DecodeStatus.OK || r.record === undefined || r.record.seq !== seq || r.record.length !== e.len) {
      // Damaged on disk after recovery: never serve it; drop it from the index.
      this.corruptReads++
      this.#remove(e, false)
      return undefined
    }
    for (let off = e.len; off < buf.length; ) {
      const d = decodeRecord(buf, off)
      if (d.status !== DecodeStatus.OK || d.record === undefined) break
      const n = d.record.kind === RecordKind.MSG ? this.#index.entry(d.record.seq) : undefined
      if (n !== undefined && n.seg === seg && n.off === e.off + off && n.data === undefined) {
        n.data = d.record.data
        n.hdr = d.record.hdr
        this.#cache.add(n)
      }
      off += d.record.length
    }
    this.#cache.evict()
    return { seq, ts: e.ts, subject: e.subject, hdr: r.record.hdr, data: r.record.data }
  }

  has(seq: number): boolean {
    return this.#index.entry(seq) !== undefined
  }

  subjectOf(seq: number): string | undefined {
    return this.#index.entry(seq)?.subject
  }

  /** Removes one message; `persist: false` for limit-based removals, which recovery re-applies. */
  delete(seq: number, persist = true): boolean {
    const e = this.#index.entry(seq)
    if (e === undefined) return false
    this.#remove(e, persist)
    return true
  }

  #remove(e: Entry, persist: boolean): void {
    this.#index.remove(e)
    this.#cache.drop(e)
    if (e.seg !== undefined) e.seg.live--
    if (persist) this.#mark(RecordKind.DELETE, e.seq)
    this.#advanceFirst()
  }

  /** Queues a tombstone on file storage; recovery replays it. */
  #mark(kind: RecordKindValue, seq: number): void {
    this.#log?.queueMark(kind, seq, this.#index.lastSeq + 1)
  }

  #advanceFirst(): void {
    this.#index.advanceFirst()
    this.#log?.dropEmptyHeadSegments()
  }

  /** Removes every message below `seq` (persisted). Returns how many were removed. */
  purgeBelow(seq: number): number {
    let n = 0
    const end = Math.min(seq, this.#index.lastSeq + 1)
    for (let s = this.firstSeq; s < end; s++) {
      const e = this.#index.entry(s)
      if (e !== undefined) {
        this.#remove(e, false)
        n++
      }
    }
    if (seq > this.#index.lastSeq + 1) {
      // Purging past the end moves the next sequence forward (nats-server allows seq > last).
      this.#index.raiseLast(seq - 1)
      this.#advanceFirst()
    }
    this.#mark(RecordKind.PURGE_TO, seq)
    return n
  }

  /** First live sequence >= from whose subject passes `match` (all when undefined); 0 when none. */
  nextSeq(from: number, match?: (subject: string) => boolean): number {
    return this.#index.nextSeq(from, match)
  }

  /** Count of live messages in [from, last] matching `match`. */
  countFrom(from: number, match?: (subject: string) => boolean): number {
    return this.#index.countFrom(from, match)
  }

  /** First live sequence whose timestamp is >= ts (binary search); 0 when none. */
  seqAtTime(ts: number): number {
    return this.#index.seqAtTime(ts)
  }

  /** Last sequence stored for an exact subject, or for a filter via `match`; 0 when none. */
  lastSeqFor(subject: string, match?: (subject: string) => boolean): number {
    return this.#index.lastSeqFor(subject, match)
  }

  /** Live sequences whose subject passes `match`, ascending. */
  seqsMatching(match: (subject: string) => boolean): number[] {
    return this.#index.seqsMatching(match)
  }

  /** Per-subject message counts. */
  subjectCounts(match?: (subject: string) => boolean): Record<string, number> {
    return this.#index.subjectCounts(match)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#log !== undefined) {
      await this.#log.drain()
      this.#log.close()
    }
    this.#closed = true
  }

  /** Drops the store's files (stream delete). */
  async destroy(): Promise<void> {
    this.#closed = true
    this.#log?.destroy()
  }

  #recover(io: StorageIO, dir: string, log: SegmentLog): void {
    const index = this.#index
    let purgeTo = 0
    const deleted = new Set<number>()
    const segments = scanSegments(io, dir, this.recovery, {
      segment: (_seg, base) => {
        index.raiseLast(base - 1)
      },
      record: (seg, rec, off) => {
        if (rec.kind === RecordKind.MSG) {
          if (rec.seq > index.lastSeq) this.#recoverMsg(seg, rec, off)
        } else if (rec.kind === RecordKind.DELETE) deleted.add(rec.seq)
        else if (rec.kind === RecordKind.PURGE_TO) {
          purgeTo = Math.max(purgeTo, rec.seq)
          index.raiseLast(rec.seq - 1)
        }
      },
    })
    log.segments.push(...segments)
    for (const seq of deleted) {
      const e = index.entry(seq)
      if (e !== undefined) this.#removeQuiet(e)
    }
    // With no messages left every slot is empty, so firstSeq (last + 1) skips nothing.
    for (let s = index.firstSeq; s < purgeTo && s <= index.lastSeq; s++) {
      const e = index.entry(s)
      if (e !== undefined) this.#removeQuiet(e)
    }
    index.endRecovery()
    log.dropEmptyHeadSegments()
  }

  #recoverMsg(seg: Segment, rec: DecodedRecord, off: number): void {
    const e: Entry = { seq: rec.seq, ts: rec.ts, subject: rec.subject, size: msgSize(rec.subject, rec.hdr?.length ?? 0, rec.data.length), seg, off, len: rec.length, hdr: undefined, data: undefined, cached: false }
    this.#index.load(e)
    seg.live++
    if (rec.hdr !== undefined) this.#opts.onRecoveredHeaders?.(rec.seq, rec.ts, rec.hdr)
  }

  #removeQuiet(e: Entry): void {
    this.#index.unload(e)
    if (e.seg !== undefined) e.seg.live--
  }
}
