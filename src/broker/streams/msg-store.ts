// Per-stream message store: an in-memory index (seek by sequence and by time, last sequence per
// subject) over either nothing (memory storage) or a segmented append-only log on a StorageIO
// (file storage) with group commit, a bounded payload cache, tombstones and crash recovery.
import { JetStreamError, JetStreamErrorCodes } from './errors.js'
import { bodyEnd, decodeRecord, DecodeStatus, type DecodedRecord, encodeMarkRecord, encodeMsgRecord, RecordKind } from './record.js'
import { type CacheableEntry, PayloadCache } from './payload-cache.js'
import { type RecoveryReport, scanSegments, type Segment, segmentPath } from './segments.js'
import type { StorageFile, StorageIO } from './storage-io.js'

export interface StoredMsg {
  readonly seq: number
  /** Epoch milliseconds. */
  readonly ts: number
  readonly subject: string
  /** Raw NATS header block, undefined when none. */
  readonly hdr: Uint8Array | undefined
  readonly data: Uint8Array
}

export const SyncPolicy = { ALWAYS: 'always', INTERVAL: 'interval' } as const
export type SyncPolicyValue = (typeof SyncPolicy)[keyof typeof SyncPolicy]

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
  readonly #io: StorageIO | undefined
  readonly #dir: string
  /** entries[i] holds sequence base + i; undefined when deleted. */
  #entries: (Entry | undefined)[] = []
  #base = 1
  #first = 1
  #last = 0
  #msgs = 0
  #bytes = 0
  #lastTs = 0
  readonly #lastBySubject = new Map<string, number>()
  readonly #segments: Segment[] = []
  // Write path: records encoded but not yet handed to the file.
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #pendingEntries: Entry[] = []
  readonly #dirty = new Set<Segment>()
  // Group commit.
  #waiters: (() => void)[] = []
  #committing = false
  #commitScheduled = false
  #interval: NodeJS.Timeout | undefined
  // Payload cache of written records, oldest first.
  readonly #cache: PayloadCache<Entry>
  #closed = false
  fsyncs = 0
  corruptReads = 0
  readonly recovery: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0, corruptRecords: 0, corruptAt: [] }

  constructor(opts: MsgStoreOptions) {
    this.#opts = opts
    this.#cache = new PayloadCache(opts.cacheBytes)
    this.#io = opts.kind === 'file' ? opts.io : undefined
    this.#dir = opts.dir ?? ''
    if (opts.kind === 'file') {
      if (this.#io === undefined || opts.dir === undefined) throw new JetStreamError(JetStreamErrorCodes.OPTIONS, 'Cannot open a file store without io and dir')
      this.#recover()
      if (opts.sync === SyncPolicy.INTERVAL) {
        this.#interval = setInterval(() => this.#periodicSync(), opts.syncIntervalMs)
        this.#interval.unref()
      }
    }
  }

  get firstSeq(): number {
    return this.#msgs === 0 ? this.#last + 1 : this.#first
  }
  get lastSeq(): number {
    return this.#last
  }
  get msgs(): number {
    return this.#msgs
  }
  get bytes(): number {
    return this.#bytes
  }
  get lastTs(): number {
    return this.#lastTs
  }
  get firstTs(): number {
    return this.#msgs === 0 ? 0 : (this.#entry(this.#first)?.ts ?? 0)
  }
  get numDeleted(): number {
    return this.#msgs === 0 ? 0 : this.#last - this.#first + 1 - this.#msgs
  }
  get segmentCount(): number {
    return this.#segments.length
  }
  get isFile(): boolean {
    return this.#io !== undefined
  }

  #entry(seq: number): Entry | undefined {
    return this.#entries[seq - this.#base]
  }

  /** Appends a message and returns its sequence; see onDurable for when it is safe. */
  append(subject: string, hdr: Uint8Array | undefined, data: Uint8Array, ts = Date.now()): number {
    if (this.#closed) throw new JetStreamError(JetStreamErrorCodes.STORE_CLOSED, 'Cannot append: the store is closed')
    const seq = this.#last + 1
    // Timestamps never go backwards inside a stream, so seek-by-time can binary search.
    const t = ts < this.#lastTs ? this.#lastTs : ts
    const e: Entry = { seq, ts: t, subject, size: msgSize(subject, hdr?.length ?? 0, data.length), seg: undefined, off: 0, len: 0, hdr, data, cached: false }
    if (this.#io === undefined) {
      // The caller's bytes may be a view into a socket buffer: keep a copy.
      e.data = data.slice()
    } else {
      const rec = encodeMsgRecord(seq, t, subject, hdr, data)
      // The record already holds a copy: the cache points into it instead of copying again.
      const end = bodyEnd(rec)
      e.data = rec.subarray(end - data.length, end)
      const seg = this.#writableSegment(seq, rec.length)
      e.seg = seg
      e.off = seg.file.size + this.#pendingBytes
      e.len = rec.length
      seg.live++
      this.#queue(rec, seg)
      this.#pendingEntries.push(e)
    }
    this.#insert(e)
    return seq
  }

  #insert(e: Entry): void {
    if (this.#msgs === 0) {
      this.#entries = []
      this.#base = e.seq
      this.#first = e.seq
    }
    this.#entries[e.seq - this.#base] = e
    this.#last = e.seq
    this.#lastTs = e.ts
    this.#msgs++
    this.#bytes += e.size
    this.#lastBySubject.set(e.subject, e.seq)
  }

  /** Calls `cb` once everything appended so far is durable per the sync policy. */
  onDurable(cb: () => void): void {
    if (this.#io === undefined) {
      cb()
      return
    }
    this.#waiters.push(cb)
    this.#scheduleCommit()
  }

  /** Resolves when everything appended so far is written and fsynced. */
  sync(): Promise<void> {
    if (this.#io === undefined) return Promise.resolve()
    return new Promise((resolve) => {
      this.#waiters.push(resolve)
      this.#forceFsync = true
      this.#scheduleCommit()
    })
  }
  #forceFsync = false

  #scheduleCommit(): void {
    if (this.#commitScheduled || this.#committing || this.#closed) return
    this.#commitScheduled = true
    // A microtask runs once the current socket chunk is fully parsed: every publish in it joins the
    // batch, and the acks still leave in this event-loop turn (no extra wake-up on a busy machine).
    queueMicrotask(() => {
      this.#commitScheduled = false
      void this.#commit()
    })
  }

  async #commit(): Promise<void> {
    if (this.#committing) return
    this.#committing = true
    const always = this.#opts.sync === SyncPolicy.ALWAYS
    try {
      while (!this.#closed && this.#waiters.length > 0) {
        const batch = this.#waiters
        this.#waiters = []
        this.#flushWrites()
        if (always || this.#forceFsync) {
          this.#forceFsync = false
          // One fsync per dirty segment covers every record written before it started (group commit).
          await this.#fsyncDirty()
        }
        for (const cb of batch) cb()
      }
    } catch (err) {
      this.#ioError = err
    } finally {
      this.#committing = false
    }
    if (this.#waiters.length > 0) this.#scheduleCommit()
  }
  #ioError: unknown

  async #fsyncDirty(): Promise<void> {
    if (this.#dirty.size === 0) return
    const segs = [...this.#dirty]
    this.#dirty.clear()
    await Promise.all(segs.map((s) => s.file.fsync()))
    this.fsyncs += segs.length
  }

  /** sync: interval: write and fsync in the background; acks never wait for this. */
  #periodicSync(): void {
    if (this.#closed || this.#syncing !== undefined) return
    this.#flushWrites()
    if (this.#dirty.size === 0) return
    this.#syncing = this.#fsyncDirty()
      .catch((err: unknown) => {
        this.#ioError = err
      })
      .finally(() => {
        this.#syncing = undefined
      })
  }
  #syncing: Promise<void> | undefined

  #queue(rec: Uint8Array, seg: Segment): void {
    this.#pending.push(rec)
    this.#pendingBytes += rec.length
    this.#dirty.add(seg)
    if (this.#pendingBytes > 512 * 1024) this.#flushWrites()
  }

  /** Hands buffered records to the file (one write per segment run). */
  #flushWrites(): void {
    if (this.#pending.length === 0) return
    const seg = this.#segments[this.#segments.length - 1] as Segment
    const bufs = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    seg.file.append(bufs.length === 1 ? (bufs[0] as Uint8Array) : bufs)
    for (const e of this.#pendingEntries) {
      if (this.#entry(e.seq) === e) {
        this.#cache.add(e)
      }
    }
    this.#pendingEntries = []
    this.#cache.evict()
  }

  #writableSegment(seq: number, recLen: number): Segment {
    let seg = this.#segments[this.#segments.length - 1]
    const size = seg === undefined ? 0 : seg.file.size + this.#pendingBytes
    if (seg === undefined || (size > 0 && size + recLen > this.#opts.segmentBytes)) {
      this.#flushWrites()
      const id = seg === undefined ? 1 : seg.id + 1
      const path = segmentPath(this.#dir, id, seq)
      seg = { id, path, file: (this.#io as StorageIO).open(path), live: 0 }
      this.#segments.push(seg)
    }
    return seg
  }

  get(seq: number): StoredMsg | undefined {
    const e = this.#entry(seq)
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
      const n = d.record.kind === RecordKind.MSG ? this.#entry(d.record.seq) : undefined
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
    return this.#entry(seq) !== undefined
  }

  subjectOf(seq: number): string | undefined {
    return this.#entry(seq)?.subject
  }

  /** Removes one message; `persist: false` for limit-based removals, which recovery re-applies. */
  delete(seq: number, persist = true): boolean {
    const e = this.#entry(seq)
    if (e === undefined) return false
    this.#remove(e, persist)
    return true
  }

  #remove(e: Entry, persist: boolean): void {
    this.#entries[e.seq - this.#base] = undefined
    this.#msgs--
    this.#bytes -= e.size
    this.#cache.drop(e)
    if (this.#lastBySubject.get(e.subject) === e.seq) {
      this.#lastBySubject.delete(e.subject)
      for (let s = e.seq - 1; s >= this.#first; s--) {
        const p = this.#entry(s)
        if (p !== undefined && p.subject === e.subject) {
          this.#lastBySubject.set(e.subject, s)
          break
        }
      }
    }
    if (e.seg !== undefined) e.seg.live--
    if (persist && this.#io !== undefined) {
      const seg = this.#writableSegment(this.#last + 1, 32)
      this.#queue(encodeMarkRecord(RecordKind.DELETE, e.seq, Date.now()), seg)
    }
    this.#advanceFirst()
  }

  #advanceFirst(): void {
    if (this.#msgs === 0) {
      this.#entries = []
      this.#base = this.#last + 1
      this.#first = this.#last + 1
    } else {
      while (this.#first <= this.#last && this.#entry(this.#first) === undefined) this.#first++
      const drop = this.#first - this.#base
      if (drop > 1024 && drop * 2 > this.#entries.length) {
        this.#entries = this.#entries.slice(drop)
        this.#base = this.#first
      }
    }
    this.#dropEmptyHeadSegments()
  }

  #dropEmptyHeadSegments(): void {
    // Only from the head: a later segment may hold tombstones for earlier ones.
    while (this.#segments.length > 1 && (this.#segments[0] as Segment).live <= 0) {
      const seg = this.#segments.shift() as Segment
      seg.file.close()
      this.#dirty.delete(seg)
      ;(this.#io as StorageIO).remove(seg.path)
    }
  }

  /** Removes every message below `seq` (persisted). Returns how many were removed. */
  purgeBelow(seq: number): number {
    let n = 0
    const end = Math.min(seq, this.#last + 1)
    for (let s = this.firstSeq; s < end; s++) {
      const e = this.#entry(s)
      if (e !== undefined) {
        this.#remove(e, false)
        n++
      }
    }
    if (seq > this.#last + 1) {
      // Purging past the end moves the next sequence forward (nats-server allows seq > last).
      this.#last = seq - 1
      this.#advanceFirst()
    }
    if (this.#io !== undefined) {
      const seg = this.#writableSegment(this.#last + 1, 32)
      this.#queue(encodeMarkRecord(RecordKind.PURGE_TO, seq, Date.now()), seg)
    }
    return n
  }

  /** First live sequence >= from whose subject passes `match` (all when undefined); 0 when none. */
  nextSeq(from: number, match?: (subject: string) => boolean): number {
    for (let s = Math.max(from, this.#first); s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) return s
    }
    return 0
  }

  /** Count of live messages in [from, last] matching `match`. */
  countFrom(from: number, match?: (subject: string) => boolean): number {
    if (match === undefined && from <= this.#first) return this.#msgs
    let n = 0
    for (let s = Math.max(from, this.#first); s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) n++
    }
    return n
  }

  /** First live sequence whose timestamp is >= ts (binary search); 0 when none. */
  seqAtTime(ts: number): number {
    let lo = this.#first
    let hi = this.#last
    let ans = 0
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2)
      let s = mid
      while (s <= hi && this.#entry(s) === undefined) s++
      if (s > hi) {
        hi = mid - 1
        continue
      }
      if ((this.#entry(s) as Entry).ts >= ts) {
        ans = s
        hi = mid - 1
      } else lo = s + 1
    }
    return ans
  }

  /** Last sequence stored for an exact subject, or for a filter via `match`; 0 when none. */
  lastSeqFor(subject: string, match?: (subject: string) => boolean): number {
    if (match === undefined) return this.#lastBySubject.get(subject) ?? 0
    for (let s = this.#last; s >= this.#first; s--) {
      const e = this.#entry(s)
      if (e !== undefined && match(e.subject)) return s
    }
    return 0
  }

  /** Live sequences whose subject passes `match`, ascending. */
  seqsMatching(match: (subject: string) => boolean): number[] {
    const out: number[] = []
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined && match(e.subject)) out.push(s)
    }
    return out
  }

  /** Per-subject message counts. */
  subjectCounts(match?: (subject: string) => boolean): Record<string, number> {
    const out: Record<string, number> = {}
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined && (match === undefined || match(e.subject))) out[e.subject] = (out[e.subject] ?? 0) + 1
    }
    return out
  }

  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#io !== undefined) {
      clearInterval(this.#interval)
      if (this.#ioError === undefined) {
        try {
          await this.#syncing
          await this.sync()
          while (this.#committing) await new Promise((r) => setImmediate(r))
        } catch {
          // Closing anyway; recovery handles whatever did not reach the disk.
        }
      }
      for (const s of this.#segments) s.file.close()
    }
    this.#closed = true
  }

  /** Drops the store's files (stream delete). */
  async destroy(): Promise<void> {
    this.#closed = true
    clearInterval(this.#interval)
    for (const s of this.#segments) s.file.close()
    const waiters = this.#waiters
    this.#waiters = []
    for (const cb of waiters) cb()
    if (this.#io !== undefined) this.#io.remove(this.#dir)
  }

  #recover(): void {
    let purgeTo = 0
    const deleted = new Set<number>()
    const segments = scanSegments(this.#io as StorageIO, this.#dir, this.recovery, {
      segment: (_seg, base) => {
        this.#last = Math.max(this.#last, base - 1)
      },
      record: (seg, rec, off) => {
        if (rec.kind === RecordKind.MSG) {
          if (rec.seq > this.#last) this.#recoverMsg(seg, rec, off)
        } else if (rec.kind === RecordKind.DELETE) deleted.add(rec.seq)
        else if (rec.kind === RecordKind.PURGE_TO) {
          purgeTo = Math.max(purgeTo, rec.seq)
          this.#last = Math.max(this.#last, rec.seq - 1)
        }
      },
    })
    this.#segments.push(...segments)
    for (const seq of deleted) {
      const e = this.#entry(seq)
      if (e !== undefined) this.#removeQuiet(e)
    }
    for (let s = this.#first; s < purgeTo && s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined) this.#removeQuiet(e)
    }
    this.#first = this.#msgs === 0 ? this.#last + 1 : this.#first
    this.#lastBySubject.clear()
    for (let s = this.#first; s <= this.#last; s++) {
      const e = this.#entry(s)
      if (e !== undefined) this.#lastBySubject.set(e.subject, s)
    }
    this.#advanceFirst()
  }

  #recoverMsg(seg: Segment, rec: DecodedRecord, off: number): void {
    const e: Entry = { seq: rec.seq, ts: rec.ts, subject: rec.subject, size: msgSize(rec.subject, rec.hdr?.length ?? 0, rec.data.length), seg, off, len: rec.length, hdr: undefined, data: undefined, cached: false }
    // Gaps (corrupt records) simply stay holes in the index.
    if (this.#msgs === 0) {
      this.#entries = []
      this.#base = rec.seq
      this.#first = rec.seq
    }
    this.#entries[rec.seq - this.#base] = e
    this.#msgs++
    this.#bytes += e.size
    this.#last = rec.seq
    this.#lastTs = Math.max(this.#lastTs, rec.ts)
    seg.live++
    if (rec.hdr !== undefined) this.#opts.onRecoveredHeaders?.(rec.seq, rec.ts, rec.hdr)
  }

  #removeQuiet(e: Entry): void {
    this.#entries[e.seq - this.#base] = undefined
    this.#msgs--
    this.#bytes -= e.size
    if (e.seg !== undefined) e.seg.live--
  }
}
