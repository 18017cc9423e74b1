// The segment files of a file-backed stream: their names (id and first sequence) and the
// recovery scan that reads every record back, skipping corrupt regions and cutting a torn tail.
import { join } from 'node:path'
import { decodeRecord, DecodeStatus, type DecodedRecord, resync } from './record.js'
import type { StorageFile, StorageIO } from './storage-io.js'

export interface Segment {
  id: number
  path: string
  file: StorageFile
  /** Live (not deleted) messages stored in this segment. */
  live: number
}

export interface RecoveryReport {
  segments: number
  records: number
  /** Bytes cut off the end of the last segment (a torn final write). */
  truncatedBytes: number
  /** Corrupt records skipped (CRC mismatch, bad magic, bad lengths). */
  corruptRecords: number
  /** [segment file, byte offset] of each corrupt region. */
  corruptAt: [string, number][]
}

const SEGMENT_SUFFIX = '.seg'
const SEGMENT_NAME = /^(\d+)-(\d+)\.seg$/

export function segmentPath(dir: string, id: number, base: number): string {
  return join(dir, `${String(id).padStart(8, '0')}-${String(base).padStart(16, '0')}${SEGMENT_SUFFIX}`)
}

export interface ScanVisitor {
  /** A segment was opened; `base` is the sequence it was created for (nothing below is missing). */
  segment(seg: Segment, base: number): void
  /** A record that decoded with a good CRC, at byte `off` of `seg`. */
  record(seg: Segment, rec: DecodedRecord, off: number): void
}

/**
 * Opens every segment of `dir` in order and hands each good record to `visit`. Corrupt regions are
 * skipped up to the next record magic and counted in `rep`; a torn or corrupt tail of the last
 * segment is truncated so appends continue from a clean end.
 */
export function scanSegments(io: StorageIO, dir: string, rep: RecoveryReport, visit: ScanVisitor): Segment[] {
  io.mkdirp(dir)
  const names = io.list(dir).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort()
  const segments: Segment[] = []
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    const m = SEGMENT_NAME.exec(name)
    if (m === null) continue
    const seg: Segment = { id: Number(m[1]), path: join(dir, name), file: io.open(join(dir, name)), live: 0 }
    segments.push(seg)
    visit.segment(seg, Number(m[2]))
    rep.segments++
    const buf = seg.file.read(0, seg.file.size)
    const isTail = i === names.length - 1
    let off = 0
    while (off < buf.length) {
      const r = decodeRecord(buf, off)
      if (r.status === DecodeStatus.OK && r.record !== undefined) {
        rep.records++
        visit.record(seg, r.record, off)
        off += r.record.length
        continue
      }
      if (r.status === DecodeStatus.SHORT && isTail) {
        rep.truncatedBytes += buf.length - off
        seg.file.truncate(off)
        break
      }
      const next = resync(buf, off + 1)
      rep.corruptRecords++
      rep.corruptAt.push([name, off])
      if (next < 0) {
        if (isTail) {
          rep.truncatedBytes += buf.length - off
          seg.file.truncate(off)
        }
        break
      }
      off = next
    }
  }
  return segments
}
