// The fused word-count stage: a map task whose plan is
//   textFile → flatMap(l => l.split(SEP)) → [filter(w => w !== '')] → map(w => [w, C])
// shuffled with reduceByKey((a, b) => a + b) runs as one byte-level loop over the split
// (ByteWordTable), with no per-record string, array, closure or generator. It emits exactly the
// pairs the generic map-side combine would emit, in the same order, unless the table has to be
// drained early for memory (then a key may be emitted more than once; reducers merge them).
import { writeVarint } from '../record-frames.js'
import { hashString } from '../keys.js'
import { readSplitBytes } from '../text-input.js'
import type { AggregatorSpec, PlanNode, TextSplit } from '../task-spec.js'
import { isNonEmptyFilter, isSum, pairWithConstant, splitSeparator } from './shapes.js'
import type { RawFrameBuilders } from './raw-frames.js'
import { ByteWordTable, MAX_TOKENS_BEFORE_DRAIN, type TokenSink } from './word-table.js'

export interface FusedWordCount {
  readonly splits: readonly TextSplit[]
  /** Separator byte of `split`. */
  readonly sep: number
  /** An `w !== ''` filter follows the split. */
  readonly skipEmpty: boolean
  /** The constant of `w => [w, C]`. */
  readonly value: number
}

/** The fused form of partition `p` of a shuffle map task, or null when the plan has another shape. */
export function matchWordCount(plan: PlanNode, p: number, combine: AggregatorSpec | undefined): FusedWordCount | null {
  if (combine?.kind !== 'reduce' || !isSum(combine.fn)) return null
  if (plan.op !== 'map' || plan.input.kind !== 'narrow') return null
  const value = pairWithConstant(plan.fn)
  // (Count frames carry non-negative values; a literal constant is never negative anyway.)
  if (value === null || value < 0) return null
  let node = plan.input.node
  let skipEmpty = false
  if (node.op === 'filter') {
    if (!isNonEmptyFilter(node.fn) || node.input.kind !== 'narrow') return null
    skipEmpty = true
    node = node.input.node
  }
  if (node.op !== 'flatMap' || node.input.kind !== 'narrow') return null
  const sep = splitSeparator(node.fn)
  if (sep === null) return null
  const text = node.input.node
  if (text.op !== 'text' || text.format !== 'lines') return null
  const splits = text.splits[p] ?? []
  if (splits.some((s) => s.gzip)) return null
  return { splits, sep, skipEmpty, value }
}

export interface FusedCounters {
  recordsIn: number
  recordsOut: number
  bytesRead: number
}

/**
 * Runs the fused stage: one `sink.token` call per distinct word (first-seen order). The table is
 * drained early when it passes `budgetBytes`, so memory stays bounded for any vocabulary.
 */
export function runWordCount(wc: FusedWordCount, budgetBytes: number, counters: FusedCounters, sink: TokenSink): void {
  // One table per worker process, reused by its tasks: its slot array would otherwise be fresh
  // memory every task, and first touches of fresh pages cost more than the counting.
  const table = (sharedTable ??= new ByteWordTable())
  if (table.size > 0) table.drain(() => {}) // left over by a task that failed mid-way
  const linesBefore = table.lines
  const onBytes = (n: number): void => { counters.bytesRead += n }
  let tokensAtDrain = table.tokens
  for (const split of wc.splits) {
    for (const chunk of readSplitBytes(split, onBytes)) {
      table.addLines(chunk, wc.sep, wc.skipEmpty)
      if (table.bytes > budgetBytes || table.tokens - tokensAtDrain > MAX_TOKENS_BEFORE_DRAIN) {
        counters.recordsOut += table.drainBytes(sink)
        tokensAtDrain = table.tokens
      }
    }
  }
  try {
    counters.recordsOut += table.drainBytes(sink)
  } finally {
    counters.recordsIn += table.lines - linesBefore
    // Keep a table of ordinary size only (one that grew past 64 MiB is left to the GC).
    if (table.bytes > 64 << 20) sharedTable = null
  }
}

let sharedTable: ByteWordTable | null = null

// The sinks are classes, not closures: a drain calls one method whatever the task, so V8's
// optimised drain loop stays valid from task to task (a new closure per task is a new call
// target, and each one threw the compiled loop away).

/** Hands the pairs on as strings, `[word, count * value]` (for partitioners other than hash). */
export class StringSink implements TokenSink {
  readonly #emit: (k: string, v: number) => void
  readonly #value: number

  constructor(emit: (k: string, v: number) => void, value: number) {
    this.#emit = emit
    this.#value = value
  }

  token(key: Buffer, at: number, len: number, count: number, text: string | null): void {
    this.#emit(text ?? key.toString('latin1', at, at + len), count * this.#value)
  }
}

/**
 * Writes the pairs `[word, count * value]` as raw count frames (record-frames.ts) into `frames`,
 * hash-partitioned over `partitions` exactly as the generic path's partitioner does: FNV-1a over
 * UTF-16 code units, which for ASCII bytes are the bytes themselves.
 */
export class CountFrameSink implements TokenSink {
  readonly #frames: RawFrameBuilders
  readonly #partitions: number
  readonly #value: number

  constructor(frames: RawFrameBuilders, partitions: number, value: number) {
    this.#frames = frames
    this.#partitions = partitions
    this.#value = value
  }

  token(key: Buffer, at: number, len: number, count: number, text: string | null): void {
    const partitions = this.#partitions
    let r = 0
    if (partitions > 1) {
      let h = 0x811c9dc5
      if (text === null) for (let i = at; i < at + len; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193)
      else h = hashString(text)
      r = (h >>> 0) % partitions
    }
    // Varints of at most 5 (length) and 8 (value < 2^53) bytes.
    const frames = this.#frames
    const buf = frames.reserve(r, 13 + len)
    const start = frames.offset(r)
    let o = writeVarint(buf, start, len)
    for (let i = 0; i < len; i++) buf[o + i] = key[at + i] as number
    o = writeVarint(buf, o + len, count * this.#value)
    frames.advance(r, o - start)
  }
}
