// The write path of a file store: records are buffered, handed to the tail segment in one write
// per batch, and made durable by group commit (sync: always) or a background fsync (sync: interval).
import { encodeMarkRecord, type RecordKindValue } from './record.js'
import { type Segment, segmentPath } from './segments.js'
import type { StorageIO } from './storage-io.js'

export const SyncPolicy = { ALWAYS: 'always', INTERVAL: 'interval' } as const
export type SyncPolicyValue = (typeof SyncPolicy)[keyof typeof SyncPolicy]

export interface SegmentLogOptions {
  io: StorageIO
  /** Directory holding the segments. */
  dir: string
  sync: SyncPolicyValue
  syncIntervalMs: number
  segmentBytes: number
  /** Called after each batch is handed to the file (the store caches what was written). */
  onFlush: () => void
}

export class SegmentLog {
  readonly #opts: SegmentLogOptions
  readonly #io: StorageIO
  /** Oldest first; the last one takes the writes. */
  readonly segments: Segment[] = []
  // Records encoded but not yet handed to the file.
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  readonly #dirty = new Set<Segment>()
  // Group commit.
  #waiters: (() => void)[] = []
  #committing = false
  #commitScheduled = false
  #forceFsync = false
  #interval: NodeJS.Timeout | undefined
  #syncing: Promise<void> | undefined
  #ioError: unknown
  #closed = false
  fsyncs = 0

  constructor(opts: SegmentLogOptions) {
    this.#opts = opts
    this.#io = opts.io
  }

  /** Starts the background fsync of sync: interval (after recovery). */
  start(): void {
    if (this.#opts.sync === SyncPolicy.INTERVAL) {
      this.#interval = setInterval(() => this.#periodicSync(), this.#opts.syncIntervalMs)
      this.#interval.unref()
    }
  }

  /** Bytes queued for the tail segment but not yet handed to its file. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  /** The segment a record of `recLen` bytes for sequence `seq` goes to; rolls to a new one when full. */
  writableSegment(seq: number, recLen: number): Segment {
    let seg = this.segments[this.segments.length - 1]
    const size = seg === undefined ? 0 : seg.file.size + this.#pendingBytes
    if (seg === undefined || (size > 0 && size + recLen > this.#opts.segmentBytes)) {
      this.#flushWrites()
      const id = seg === undefined ? 1 : seg.id + 1
      const path = segmentPath(this.#opts.dir, id, seq)
      seg = { id, path, file: this.#io.open(path), live: 0 }
      this.segments.push(seg)
    }
    return seg
  }

  /** Queues `rec` for `seg` (from writableSegment); large batches are handed to the file at once. */
  queue(rec: Uint8Array, seg: Segment): void {
    this.#pending.push(rec)
    this.#pendingBytes += rec.length
    this.#dirty.add(seg)
    if (this.#pendingBytes > 512 * 1024) this.#flushWrites()
  }

  /** Queues a tombstone (DELETE or PURGE_TO of `seq`); `nextSeq` names a segment it may open. */
  queueMark(kind: RecordKindValue, seq: number, nextSeq: number): void {
    const seg = this.writableSegment(nextSeq, 32)
    this.queue(encodeMarkRecord(kind, seq, Date.now()), seg)
  }

  /** Hands buffered records to the file (one write per segment run). */
  #flushWrites(): void {
    if (this.#pending.length === 0) return
    const seg = this.segments[this.segments.length - 1] as Segment
    const bufs = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    seg.file.append(bufs.length === 1 ? (bufs[0] as Uint8Array) : bufs)
    this.#opts.onFlush()
  }

  /** Calls `cb` once everything queued so far is durable per the sync policy. */
  onDurable(cb: () => void): void {
    this.#waiters.push(cb)
    this.#scheduleCommit()
  }

  /** Resolves when everything queued so far is written and fsynced. */
  sync(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve)
      this.#forceFsync = true
      this.#scheduleCommit()
    })
  }

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

  /** Removes leading segments without live messages. */
  dropEmptyHeadSegments(): void {
    // Only from the head: a later segment may hold tombstones for earlier ones.
    while (this.segments.length > 1 && (this.segments[0] as Segment).live <= 0) {
      const seg = this.segments.shift() as Segment
      seg.file.close()
      this.#dirty.delete(seg)
      this.#io.remove(seg.path)
    }
  }

  /** Stops the timer and waits until everything queued is written and fsynced (unless I/O already failed). */
  async drain(): Promise<void> {
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
  }

  /** Closes the segment files; call drain() first. */
  close(): void {
    for (const s of this.segments) s.file.close()
    this.#closed = true
  }

  /** Closes without writing, releases waiters and removes the directory (stream delete). */
  destroy(): void {
    this.#closed = true
    clearInterval(this.#interval)
    for (const s of this.segments) s.file.close()
    const waiters = this.#waiters
    this.#waiters = []
    for (const cb of waiters) cb()
    this.#io.remove(this.#opts.dir)
  }
}
