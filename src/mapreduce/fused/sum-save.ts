// The fused reduce side of the word count: reduceByKey((a, b) => a + b) → saveAsTextFile over raw
// count frames (written by the fused map side, fused/word-count.ts). Pairs are summed in a table
// keyed by the key bytes, in arrival order as the generic aggregator inserts them, and written as
// the generic path's JSON lines straight from the bytes. Keys are canonical UTF-8 (the map side
// re-encodes decoded non-ASCII keys), so equal bytes mean equal strings and the reverse.
import { ENTRY_OVERHEAD } from '../aggregator.js'
import { frameBodyBytes, RAW_COUNT_FRAME, readVarint } from '../record-frames.js'
import { estimateSize } from '../spill.js'
import type { PlanNode, TaskOutput } from '../task-spec.js'
import { blockSize } from '../task-pruning.js'
import { OutBuffer } from './out-buffer.js'
import type { FusedReduceInput } from './reduce-input.js'
import { isSum } from './shapes.js'

export interface FusedSumSave {
  readonly shuffleId: number
}

/** The fused form of a `reduceByKey(sum) → saveAsTextFile` task, or null when the plan has another shape. */
export function matchSumSave(plan: PlanNode, output: TaskOutput): FusedSumSave | null {
  if (output.kind !== 'save') return null
  if (plan.op !== 'shuffled' || plan.sort !== undefined || plan.combined !== true || plan.inputs.length !== 1) return null
  const agg = plan.aggregator
  if (agg?.kind !== 'reduce' || !isSum(agg.fn)) return null
  const input = plan.inputs[0]
  return input?.kind === 'shuffle' ? { shuffleId: input.shuffleId } : null
}

/** UTF-16 length of canonical UTF-8: one unit per non-continuation byte, two for 4-byte sequences. */
function utf16Length(b: Uint8Array, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = b[i] as number
    if (c < 0x80 || c >= 0xc0) n += c >= 0xf0 ? 2 : 1
  }
  return n
}

/** Open-addressing table from key bytes (kept where they arrived: chunk, offset) to a float64 sum. */
class SumTable {
  #slots = new Int32Array(1 << 12)
  #mask = (1 << 12) - 1
  n = 0
  chunk = new Int32Array(1 << 10)
  offset = new Int32Array(1 << 10)
  length = new Int32Array(1 << 10)
  #hash = new Int32Array(1 << 10)
  sum = new Float64Array(1 << 10)

  /** Adds `value` to the key at chunks[ci][o, o + len); returns true when the key is new. */
  add(chunks: readonly Buffer[], ci: number, o: number, len: number, value: number): boolean {
    const b = chunks[ci] as Buffer
    let h = 0x811c9dc5
    for (let i = o; i < o + len; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193)
    h ^= h >>> 15
    let p = h & this.#mask
    for (;;) {
      const e = (this.#slots[p] as number) - 1
      if (e < 0) break
      if (this.#hash[e] === h && this.length[e] === len && this.#equals(chunks, e, b, o, len)) {
        this.sum[e] = (this.sum[e] as number) + value
        return false
      }
      p = (p + 1) & this.#mask
    }
    const e = this.n++
    if (e === this.sum.length) this.#growEntries()
    this.chunk[e] = ci
    this.offset[e] = o
    this.length[e] = len
    this.#hash[e] = h
    this.sum[e] = value
    this.#slots[p] = e + 1
    if (this.n * 2 > this.#mask) this.#rehash()
    return true
  }

  #equals(chunks: readonly Buffer[], e: number, b: Buffer, o: number, len: number): boolean {
    const a = chunks[this.chunk[e] as number] as Buffer
    const ao = this.offset[e] as number
    for (let i = 0; i < len; i++) if (a[ao + i] !== b[o + i]) return false
    return true
  }

  #growEntries(): void {
    const grow = <T extends Int32Array | Float64Array>(a: T): T => {
      const bigger = new (a.constructor as new (n: number) => T)(a.length * 2)
      bigger.set(a)
      return bigger
    }
    this.chunk = grow(this.chunk)
    this.offset = grow(this.offset)
    this.length = grow(this.length)
    this.#hash = grow(this.#hash)
    this.sum = grow(this.sum)
  }

  #rehash(): void {
    const cap = (this.#mask + 1) * 2
    const slots = new Int32Array(cap)
    const mask = cap - 1
    for (let e = 0; e < this.n; e++) {
      let p = (this.#hash[e] as number) & mask
      while (slots[p] !== 0) p = (p + 1) & mask
      slots[p] = e + 1
    }
    this.#slots = slots
    this.#mask = mask
  }
}

const JSON_PLAIN = new Uint8Array(256).map((_, c) => (c >= 0x20 && c !== 0x22 && c !== 0x5c ? 1 : 0))

/** Writes `["key",sum]\n` as JSON.stringify([key, sum]) would (the generic path's line). */
function writeLine(out: OutBuffer, key: Buffer, o: number, len: number, sum: number): void {
  let plain = Number.isFinite(sum)
  for (let i = o; i < o + len; i++) if (JSON_PLAIN[key[i] as number] === 0) { plain = false; break }
  const line = plain ? null : Buffer.from(`${JSON.stringify([key.toString('utf8', o, o + len), sum])}\n`, 'utf8')
  const num = plain ? String(sum) : ''
  const need = line === null ? len + num.length + 6 : line.length
  if (!out.room(need)) {
    out.direct(line ?? Buffer.from(`["${key.toString('utf8', o, o + len)}",${num}]\n`, 'utf8'))
    return
  }
  const b = out.buf
  let w = out.len
  if (line !== null) {
    line.copy(b, w)
    out.len = w + line.length
    return
  }
  b[w++] = 0x5b
  b[w++] = 0x22
  for (let i = o; i < o + len; i++) b[w++] = key[i] as number
  b[w++] = 0x22
  b[w++] = 0x2c
  for (let i = 0; i < num.length; i++) b[w++] = num.charCodeAt(i)
  b[w++] = 0x5d
  b[w++] = 0x0a
  out.len = w
}

/** Per-key charge of the generic aggregator besides the key's UTF-16 length (aggregator.ts insertCombiner). */
const PER_KEY = ENTRY_OVERHEAD + estimateSize('') + estimateSize(0)

/**
 * Adds the records of `chunk` (whole frames) to `table`, keeping the chunk in `chunks`. Returns
 * the generic aggregator's memory estimate after them, or -1 on a frame of another kind. (A
 * function of its own, apart from the async fetch loop: V8 compiles a hot loop inside an async
 * function together with the whole state machine, many times slower.)
 */
function addChunk(table: SumTable, chunks: Buffer[], chunk: Buffer, charged: number, budgetBytes: number): number {
  const ci = chunks.length
  chunks.push(chunk)
  const at = { offset: 0 }
  let off = 0
  while (off + 4 <= chunk.length) {
    const word = chunk.readUInt32LE(off)
    if (word < RAW_COUNT_FRAME) return -1
    const end = off + 4 + frameBodyBytes(word)
    at.offset = off + 4
    while (at.offset < end) {
      const len = readVarint(chunk, at)
      const k = at.offset
      at.offset += len
      if (table.add(chunks, ci, k, len, readVarint(chunk, at))) {
        charged += PER_KEY + utf16Length(chunk, k, k + len)
        if (charged > budgetBytes) return charged
      }
    }
    off = end
  }
  return charged
}

function writeAll(table: SumTable, chunks: readonly Buffer[], fd: number): void {
  const out = new OutBuffer(fd)
  for (let e = 0; e < table.n; e++) writeLine(out, chunks[table.chunk[e] as number] as Buffer, table.offset[e] as number, table.length[e] as number, table.sum[e] as number)
  out.flush()
}

/**
 * Runs the fused reduce side of partition `p` into `fd`. Returns false, having written nothing,
 * when a block holds another frame kind (a map task took the generic path) or when the generic
 * aggregator would spill under `budgetBytes` (its output would then be in (hash, key) order).
 */
export async function runSumSave(m: FusedSumSave, input: FusedReduceInput): Promise<boolean> {
  const { locations, partition: p, fetcher, budgetBytes, fd, counters } = input
  const chunks: Buffer[] = []
  const table = new SumTable()
  let charged = 0
  let read = 0
  for (const loc of locations) {
    if (blockSize(loc, p) === 0) continue
    for await (const raw of fetcher.fetch(m.shuffleId, loc, p)) {
      const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
      read += chunk.length
      charged = addChunk(table, chunks, chunk, charged, budgetBytes)
      if (charged < 0 || charged > budgetBytes) return false
    }
  }
  writeAll(table, chunks, fd)
  counters.recordsOut += table.n
  counters.shuffleReadBytes += read
  return true
}
