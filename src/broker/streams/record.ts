// Log record codec. Every record is `magic u32 | body length u32 | crc32c(body) u32 | body`, zero-padded
// to a multiple of 4 bytes so bodies stay word-aligned (the CRC reads 32-bit words); the magic
// lets recovery find the next record after a corrupt one. Body: kind u8, seq f64, ts f64 (ms),
// then for messages subject length u16, header length u32, data length u32 and the three blobs.
import { crc32c } from './crc32c.js'

export const RECORD_MAGIC = 0x53594a31 // "SYJ1"
export const HEADER_BYTES = 12
const align4 = (n: number): number => (n + 3) & ~3
const BODY_FIXED = 1 + 8 + 8
const MSG_FIXED = BODY_FIXED + 2 + 4 + 4
/** Upper bound on one body; anything larger is treated as corruption, not allocated. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024

export const RecordKind = {
  MSG: 0,
  /** Removes one sequence (ack in workqueue/interest retention, message delete). */
  DELETE: 1,
  /** Removes every sequence below `seq` (purge). */
  PURGE_TO: 2,
} as const
export type RecordKindValue = (typeof RecordKind)[keyof typeof RecordKind]

const enc = new TextEncoder()
const dec = new TextDecoder()

export interface DecodedRecord {
  kind: RecordKindValue
  seq: number
  ts: number
  subject: string
  hdr: Uint8Array | undefined
  data: Uint8Array
  /** Total bytes including the 12-byte header and the padding. */
  length: number
}

// Streams mostly see one subject after another: remember the last encoding.
let lastSubject = ''
let lastSubjectBytes = new Uint8Array(0)

export function encodeMsgRecord(seq: number, ts: number, subject: string, hdr: Uint8Array | undefined, data: Uint8Array): Uint8Array {
  if (subject !== lastSubject) {
    lastSubjectBytes = enc.encode(subject)
    lastSubject = subject
  }
  const subj = lastSubjectBytes
  const hlen = hdr?.length ?? 0
  const bodyLen = MSG_FIXED + subj.length + hlen + data.length
  const total = align4(HEADER_BYTES + bodyLen)
  // Every byte is written below (the padding explicitly), so skip the zero fill.
  const out = Buffer.allocUnsafe(total)
  for (let i = HEADER_BYTES + bodyLen; i < total; i++) out[i] = 0
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength)
  dv.setUint32(0, RECORD_MAGIC)
  dv.setUint32(4, bodyLen)
  let o = HEADER_BYTES
  out[o] = RecordKind.MSG
  dv.setFloat64(o + 1, seq)
  dv.setFloat64(o + 9, ts)
  dv.setUint16(o + 17, subj.length)
  dv.setUint32(o + 19, hlen)
  dv.setUint32(o + 23, data.length)
  o += MSG_FIXED
  out.set(subj, o)
  o += subj.length
  if (hdr !== undefined) out.set(hdr, o)
  o += hlen
  out.set(data, o)
  dv.setUint32(8, crc32c(out, HEADER_BYTES, HEADER_BYTES + bodyLen))
  return out
}

/** Where the payload of an encoded message record ends (before the padding). */
export function bodyEnd(rec: Uint8Array): number {
  return HEADER_BYTES + new DataView(rec.buffer, rec.byteOffset, rec.byteLength).getUint32(4)
}

export function encodeMarkRecord(kind: RecordKindValue, seq: number, ts: number): Uint8Array {
  const out = new Uint8Array(align4(HEADER_BYTES + BODY_FIXED))
  const dv = new DataView(out.buffer)
  dv.setUint32(0, RECORD_MAGIC)
  dv.setUint32(4, BODY_FIXED)
  out[HEADER_BYTES] = kind
  dv.setFloat64(HEADER_BYTES + 1, seq)
  dv.setFloat64(HEADER_BYTES + 9, ts)
  dv.setUint32(8, crc32c(out, HEADER_BYTES, HEADER_BYTES + BODY_FIXED))
  return out
}

export const DecodeStatus = {
  OK: 0,
  /** Not enough bytes for the header or the body: a torn final write. */
  SHORT: 1,
  /** Bad magic, absurd length, CRC mismatch or inconsistent fields. */
  CORRUPT: 2,
} as const
export type DecodeStatusValue = (typeof DecodeStatus)[keyof typeof DecodeStatus]

/** Decodes the record at `off`; payload views point into `buf` (copy to keep). */
export function decodeRecord(buf: Uint8Array, off: number): { status: DecodeStatusValue; record?: DecodedRecord } {
  if (buf.length - off < HEADER_BYTES) return { status: DecodeStatus.SHORT }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (dv.getUint32(off) !== RECORD_MAGIC) return { status: DecodeStatus.CORRUPT }
  const bodyLen = dv.getUint32(off + 4)
  if (bodyLen < BODY_FIXED || bodyLen > MAX_BODY_BYTES) return { status: DecodeStatus.CORRUPT }
  const start = off + HEADER_BYTES
  const end = start + bodyLen
  const length = align4(HEADER_BYTES + bodyLen)
  if (off + length > buf.length) return { status: DecodeStatus.SHORT }
  if (crc32c(buf, start, end) !== dv.getUint32(off + 8)) return { status: DecodeStatus.CORRUPT }
  const kind = buf[start] as number
  const seq = dv.getFloat64(start + 1)
  const ts = dv.getFloat64(start + 9)
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isFinite(ts)) return { status: DecodeStatus.CORRUPT }
  if (kind === RecordKind.DELETE || kind === RecordKind.PURGE_TO) {
    return { status: DecodeStatus.OK, record: { kind, seq, ts, subject: '', hdr: undefined, data: new Uint8Array(0), length } }
  }
  if (kind !== RecordKind.MSG || bodyLen < MSG_FIXED) return { status: DecodeStatus.CORRUPT }
  const slen = dv.getUint16(start + 17)
  const hlen = dv.getUint32(start + 19)
  const dlen = dv.getUint32(start + 23)
  if (MSG_FIXED + slen + hlen + dlen !== bodyLen) return { status: DecodeStatus.CORRUPT }
  let o = start + MSG_FIXED
  const subject = dec.decode(buf.subarray(o, o + slen))
  o += slen
  const hdr = hlen > 0 ? buf.subarray(o, o + hlen) : undefined
  o += hlen
  const data = buf.subarray(o, o + dlen)
  return { status: DecodeStatus.OK, record: { kind: RecordKind.MSG, seq, ts, subject, hdr, data, length } }
}

/** Next offset after `from` where a record starts with the magic and decodes; -1 when none. */
export function resync(buf: Uint8Array, from: number): number {
  for (let i = from; i + HEADER_BYTES <= buf.length; i++) {
    if (buf[i] === 0x53 && buf[i + 1] === 0x59 && buf[i + 2] === 0x4a && buf[i + 3] === 0x31) {
      if (decodeRecord(buf, i).status === DecodeStatus.OK) return i
    }
  }
  return -1
}
