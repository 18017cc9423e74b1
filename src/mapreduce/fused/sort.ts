// The fused byte-level sort stages of
//   textFile → map(line => [line.slice(0, K), line.slice(K)]) → sortByKey → map(([k, v]) => k + v) → saveAsTextFile
// Map side: lines are cut into key and value bytes, range-partitioned by comparing bytes with
// the bounds and written as raw frames (record-frames.ts), no JS string per record. Reduce side: the
// raw records of the partition are sorted by key bytes (stable: ties keep arrival order) and
// written as key + value + '\n'. Only ASCII input takes this path (then UTF-16 `slice` equals a
// byte slice and byte order equals JS string order); a chunk with any other byte makes the map
// task start over on the generic path, and a reducer that meets a msgpack frame does the same.
import { isAscii } from 'node:buffer'
import { RAW_COUNT_FRAME, RAW_FRAME } from '../record-frames.js'
import type { MapOutputWriter } from '../shuffle-store.js'
import { readSplitBytes } from '../text-input.js'
import { OutBuffer } from './out-buffer.js'
import type { FusedReduceInput } from './reduce-input.js'
import { RawFrameBuilders } from './raw-frames.js'
import type { PlanNode, TaskOutput, TextSplit } from '../task-spec.js'
import { blockSize } from '../task-pruning.js'
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
  const frames = new RawFrameBuilders(writer, n, RAW_FRAME, flushAboveBytes)
  const bounds = m.bounds
  const nb = bounds.length
  const asc = m.ascending
  const K = m.keyChars
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
        const need = 8 + (e - start)
        const buf = frames.reserve(r, need)
        const at = frames.offset(r)
        buf.writeUInt32LE(ke - start, at)
        buf.writeUInt32LE(e - ke, at + 4)
        copyBytes(chunk, start, e, buf, at + 8)
        frames.advance(r, need)
        counters.recordsIn++
        counters.recordsOut++
        if (nl < 0) break
        start = nl + 1
      }
    }
  }
  frames.finish()
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
export async function runSortReduce(m: FusedSortReduce, input: FusedReduceInput): Promise<boolean> {
  const { locations, partition: p, fetcher, budgetBytes, fd, counters } = input
  let total = 0
  for (const loc of locations) total += blockSize(loc, p)
  if (total > budgetBytes) return false
  // Records are read where the fetcher put them (fresh memory is costly to touch: no gathering
  // copy): chunk index, offset, key length and an 8-byte big-endian key prefix per record.
  const chunks: Buffer[] = []
  const where: number[] = []
  for (const loc of locations) {
    if (blockSize(loc, p) === 0) continue
    for await (const raw of fetcher.fetch(m.shuffleId, loc, p)) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
      const ci = chunks.length
      chunks.push(chunk)
      let off = 0
      while (off + 4 <= chunk.length) {
        const word = chunk.readUInt32LE(off)
        if (word < RAW_FRAME || word >= RAW_COUNT_FRAME) return false
        const end = off + 4 + (word - RAW_FRAME)
        for (let o = off + 4; o < end; o += 8 + chunk.readUInt32LE(o) + chunk.readUInt32LE(o + 4)) where.push(ci, o)
        off = end
      }
    }
  }
  const n = where.length >> 1
  const order = sortRecords(chunks, where, n, m.ascending)
  const out = new OutBuffer(fd)
  for (let i = 0; i < n; i++) {
    const x = order[i] as number
    const c = chunks[where[2 * x] as number] as Buffer
    const o = where[2 * x + 1] as number
    const len = c.readUInt32LE(o) + c.readUInt32LE(o + 4)
    if (!out.room(len + 1)) {
      out.direct(c.subarray(o + 8, o + 8 + len))
      out.direct(NEWLINE)
      continue
    }
    copyBytes(c, o + 8, o + 8 + len, out.buf, out.len)
    out.len += len
    out.buf[out.len++] = 10
  }
  out.flush()
  counters.recordsOut += n
  counters.shuffleReadBytes += total
  return true
}

const NEWLINE = Buffer.from('\n')

const keyLen = (chunks: readonly Buffer[], where: readonly number[], x: number): number => (chunks[where[2 * x] as number] as Buffer).readUInt32LE(where[2 * x + 1] as number)

/** Sign of key x against key y (bytes, then length). */
function compareRecordKeys(chunks: readonly Buffer[], where: readonly number[], x: number, y: number): number {
  const cx = chunks[where[2 * x] as number] as Buffer
  const cy = chunks[where[2 * y] as number] as Buffer
  const ox = (where[2 * x + 1] as number) + 8
  const oy = (where[2 * y + 1] as number) + 8
  return cx.compare(cy, oy, oy + keyLen(chunks, where, y), ox, ox + keyLen(chunks, where, x))
}

/**
 * The records' order by key, ties in arrival order (a stable sort), in either direction. Each
 * record becomes one 64-bit integer: the key's first 5 bytes (zero padded; complemented when
 * descending, so shorter keys still come out right) above the 24-bit record index, sorted
 * natively without a comparator; runs sharing the 5-byte prefix are then refined by the full key.
 */
function sortRecords(chunks: readonly Buffer[], where: readonly number[], n: number, ascending: boolean): Uint32Array | number[] {
  const sign = ascending ? 1 : -1
  if (n >= 1 << 24) {
    const order = Array.from({ length: n }, (_, i) => i)
    return order.sort((x, y) => sign * compareRecordKeys(chunks, where, x, y) || x - y)
  }
  const words = new Uint32Array(2 * n)
  const flip = ascending ? 0 : 0xff
  for (let i = 0; i < n; i++) {
    const c = chunks[where[2 * i] as number] as Buffer
    const o = where[2 * i + 1] as number
    const kl = c.readUInt32LE(o)
    const byte = (j: number): number => (j < kl ? (c[o + 8 + j] as number) : 0) ^ flip
    // Little-endian 64-bit: low word = prefix byte 4 (top 8 bits) | index (24 bits), high word = bytes 0-3.
    words[2 * i] = ((byte(4) << 24) | i) >>> 0
    words[2 * i + 1] = ((byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)) >>> 0
  }
  const keys = new BigUint64Array(words.buffer, words.byteOffset, n)
  keys.sort()
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = (words[2 * i] as number) & 0xffffff
  // Refine runs whose 5-byte prefixes are equal (already in index order) by the full key.
  let i = 0
  while (i < n) {
    const hi = words[2 * i + 1]
    const lo = (words[2 * i] as number) >>> 24
    let j = i + 1
    while (j < n && words[2 * j + 1] === hi && (words[2 * j] as number) >>> 24 === lo) j++
    if (j - i > 1) {
      const run = Array.from(order.subarray(i, j))
      run.sort((x, y) => sign * compareRecordKeys(chunks, where, x, y) || x - y)
      order.set(run, i)
    }
    i = j
  }
  return order
}
