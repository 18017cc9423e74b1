// The fused byte-level sort stages of
//   textFile → map(line => [line.slice(0, K), line.slice(K)]) → sortByKey → map(([k, v]) => k + v) → saveAsTextFile
// Map side: lines are cut into key and value bytes, range-partitioned by comparing bytes with
// the bounds and written as raw frames (frames.ts), no JS string per record. Reduce side: the
// raw records of the partition are sorted by key bytes (stable: ties keep arrival order) and
// written as key + value + '\n'. Only ASCII input takes this path (then UTF-16 `slice` equals a
// byte slice and byte order equals JS string order); a chunk with any other byte makes the map
// task start over on the generic path, and a reducer that meets a msgpack frame does the same.
import { isAscii } from 'node:buffer'
import { writeSync } from 'node:fs'
import { RAW_FRAME } from '../frames.js'
import type { MapOutputWriter, ShuffleFetcher } from '../shuffle-store.js'
import { readSplitBytes } from '../text-input.js'
import type { MapOutputLocation, PlanNode, TaskOutput, TextSplit } from '../task.js'
import { isPairConcat, sliceKeyValue } from './shapes.js'

export interface FusedSortMap {
  readonly splits: readonly TextSplit[]
  /** K of `line.slice(0, K)`. */
  readonly keyChars: number
  /** Range bounds as UTF-8 bytes. */
  readonly bounds: readonly Buffer[]
  readonly ascending: boolean
  readonly partitions: number
}

/** The fused form of a sortByKey map task, or null when the plan has another shape. */
export function matchSortMap(plan: PlanNode, p: number, output: Extract<TaskOutput, { kind: 'shuffle' }>): FusedSortMap | null {
  const part = output.partitioner
  if (output.combine !== undefined || part.kind !== 'range') return null
  if (plan.op !== 'map' || plan.input.kind !== 'narrow') return null
  const keyChars = sliceKeyValue(plan.fn)
  if (keyChars === null) return null
  const text = plan.input.node
  if (text.op !== 'text' || text.format !== 'lines') return null
  const splits = text.splits[p] ?? []
  if (splits.some((s) => s.gzip) || !part.bounds.every((b) => typeof b === 'string')) return null
  return { splits, keyChars, bounds: part.bounds.map((b) => Buffer.from(b as string, 'utf8')), ascending: part.ascending, partitions: part.partitions }
}

/** A byte loop: Buffer#copy costs about a microsecond per call in Node 20, far more than 100 bytes. */
function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  for (let i = from, j = at; i < to; i++, j++) dst[j] = src[i] as number
}

/** Sign of `a` against bytes [from, to) of `b` (JS loop: keys are short, native calls are not free). */
function compareBytes(a: Uint8Array, b: Uint8Array, from: number, to: number): number {
  const n = Math.min(a.length, to - from)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[from + i] as number)
    if (d !== 0) return d
  }
  return a.length - (to - from)
}

/** Growing per-partition buffer of raw records, appended to the map output as ~1 MB frames. */
class RawFrameBuilder {
  buf = Buffer.allocUnsafe(1 << 16)
  len = 4
}

const FRAME_BYTES = 1 << 20

export interface SortCounters {
  recordsIn: number
  recordsOut: number
  bytesRead: number
}

/**
 * Runs the fused map side into `writer`. Returns false (having appended nothing that matters:
 * the caller aborts the writer) when the input is not all ASCII.
 */
export function runSortMap(m: FusedSortMap, writer: MapOutputWriter, flushAboveBytes: number, counters: SortCounters): boolean {
  const n = m.partitions
  const builders = Array.from({ length: n }, () => new RawFrameBuilder())
  const bounds = m.bounds
  const nb = bounds.length
  const asc = m.ascending
  const K = m.keyChars
  const emitFrame = (r: number, b: RawFrameBuilder): void => {
    b.buf.writeUInt32LE(b.len - 4 + RAW_FRAME, 0)
    // (Buffer.from(view) would copy byte by byte through the array-like path.)
    const frame = Buffer.allocUnsafe(b.len)
    b.buf.copy(frame, 0, 0, b.len)
    writer.append(r, frame)
    b.len = 4
    if (writer.bufferedBytes > flushAboveBytes) writer.flush()
  }
  const onBytes = (x: number): void => { counters.bytesRead += x }
  for (const split of m.splits) {
    for (const chunk of readSplitBytes(split, onBytes)) {
      if (!isAscii(chunk)) return false
      let start = 0
      for (;;) {
        const nl = chunk.indexOf(10, start)
        const lineEnd = nl < 0 ? chunk.length : nl
        let e = lineEnd
        if (e > start && chunk[e - 1] === 13) e--
        const ke = start + K < e ? start + K : e
        // Range partition: the first bound >= key (binary search, bytes compared).
        let lo = 0
        let hi = nb
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (compareBytes(bounds[mid] as Buffer, chunk, start, ke) < 0) lo = mid + 1
          else hi = mid
        }
        const r = asc ? lo : n - 1 - lo
        const b = builders[r] as RawFrameBuilder
        const need = 8 + (e - start)
        if (b.len + need > b.buf.length) {
          const bigger = Buffer.allocUnsafe(Math.max(b.buf.length * 2, b.len + need))
          b.buf.copy(bigger, 0, 0, b.len)
          b.buf = bigger
        }
        b.buf.writeUInt32LE(ke - start, b.len)
        b.buf.writeUInt32LE(e - ke, b.len + 4)
        copyBytes(chunk, start, e, b.buf, b.len + 8)
        b.len += need
        if (b.len >= FRAME_BYTES) emitFrame(r, b)
        counters.recordsIn++
        counters.recordsOut++
        if (nl < 0) break
        start = nl + 1
      }
    }
  }
  for (let r = 0; r < n; r++) {
    const b = builders[r] as RawFrameBuilder
    if (b.len > 4) emitFrame(r, b)
  }
  return true
}

export interface FusedSortReduce {
  readonly shuffleId: number
  readonly ascending: boolean
}

/** The fused form of a `sortByKey → map(([k, v]) => k + v) → saveAsTextFile` task, or null. */
export function matchSortReduce(plan: PlanNode, output: TaskOutput): FusedSortReduce | null {
  if (output.kind !== 'save' || output.format !== 'text') return null
  if (plan.op !== 'map' || plan.input.kind !== 'narrow' || !isPairConcat(plan.fn)) return null
  const s = plan.input.node
  if (s.op !== 'shuffled' || s.aggregator !== undefined || s.sort === undefined || s.inputs.length !== 1) return null
  const input = s.inputs[0]
  return input?.kind === 'shuffle' ? { shuffleId: input.shuffleId, ascending: s.sort.ascending } : null
}

/**
 * Runs the fused reduce side: fetches partition `p`, sorts its raw records by key bytes and
 * writes the lines to `fd`. Returns false, having written nothing, when a block holds msgpack
 * frames (a map task took the generic path) or the partition exceeds `budgetBytes`.
 */
export async function runSortReduce(
  m: FusedSortReduce,
  locations: readonly MapOutputLocation[],
  p: number,
  fetcher: ShuffleFetcher,
  budgetBytes: number,
  fd: number,
  counters: { recordsOut: number; shuffleReadBytes: number },
): Promise<boolean> {
  let total = 0
  for (const loc of locations) total += loc.sizes[p] ?? 0
  if (total > budgetBytes) return false
  // Records are read where the fetcher put them (fresh memory is costly to touch: no gathering
  // copy): chunk index, offset, key length and an 8-byte big-endian key prefix per record.
  const chunks: Buffer[] = []
  const where: number[] = []
  for (const loc of locations) {
    if ((loc.sizes[p] ?? 0) === 0) continue
    for await (const raw of fetcher.fetch(m.shuffleId, loc, p)) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
      const ci = chunks.length
      chunks.push(chunk)
      let off = 0
      while (off + 4 <= chunk.length) {
        const word = chunk.readUInt32LE(off)
        if (word < RAW_FRAME) return false
        const end = off + 4 + (word - RAW_FRAME)
        for (let o = off + 4; o < end; o += 8 + chunk.readUInt32LE(o) + chunk.readUInt32LE(o + 4)) where.push(ci, o)
        off = end
      }
    }
  }
  const n = where.length >> 1
  const p0 = new Uint32Array(n)
  const p1 = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    const c = chunks[where[2 * i] as number] as Buffer
    const o = where[2 * i + 1] as number
    const kl = c.readUInt32LE(o)
    let a = 0
    let b = 0
    for (let j = 0; j < 4; j++) a = a * 256 + (j < kl ? (c[o + 8 + j] as number) : 0)
    for (let j = 4; j < 8; j++) b = b * 256 + (j < kl ? (c[o + 8 + j] as number) : 0)
    p0[i] = a
    p1[i] = b
  }
  const sign = m.ascending ? 1 : -1
  const order = Array.from({ length: n }, (_, i) => i)
  order.sort((x, y) => {
    let d = (p0[x] as number) - (p0[y] as number)
    if (d === 0) d = (p1[x] as number) - (p1[y] as number)
    if (d === 0) {
      const cx = chunks[where[2 * x] as number] as Buffer
      const cy = chunks[where[2 * y] as number] as Buffer
      const ox = (where[2 * x + 1] as number) + 8
      const oy = (where[2 * y + 1] as number) + 8
      d = cx.compare(cy, oy, oy + cy.readUInt32LE(oy - 8), ox, ox + cx.readUInt32LE(ox - 8))
    }
    // Ties keep arrival order, in both directions (a stable sort).
    return d !== 0 ? sign * d : x - y
  })
  // Lines go out through one reused buffer.
  const out = outBuffer()
  let w = 0
  const flush = (): void => {
    let off = 0
    while (off < w) off += writeSync(fd, out, off, w - off)
    w = 0
  }
  for (let i = 0; i < n; i++) {
    const x = order[i] as number
    const c = chunks[where[2 * x] as number] as Buffer
    const o = where[2 * x + 1] as number
    const len = c.readUInt32LE(o) + c.readUInt32LE(o + 4)
    if (w + len + 1 > out.length) {
      flush()
      if (len + 1 > out.length) {
        writeSync(fd, c, o + 8, len)
        writeSync(fd, NEWLINE)
        continue
      }
    }
    copyBytes(c, o + 8, o + 8 + len, out, w)
    w += len
    out[w++] = 10
  }
  flush()
  counters.recordsOut += n
  counters.shuffleReadBytes += total
  return true
}

const NEWLINE = Buffer.from('\n')
let sharedOut: Buffer | null = null
const outBuffer = (): Buffer => (sharedOut ??= Buffer.allocUnsafe(1 << 20))
