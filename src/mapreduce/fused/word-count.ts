// The fused word-count stage: a map task whose plan is
//   textFile → flatMap(l => l.split(SEP)) → [filter(w => w !== '')] → map(w => [w, C])
// shuffled with reduceByKey((a, b) => a + b) runs as one byte-level loop over the split
// (ByteWordTable), with no per-record string, array, closure or generator. It emits exactly the
// pairs the generic map-side combine would emit, in the same order, unless the table has to be
// drained early for memory (then a key may be emitted more than once; reducers merge them).
import { readSplitBytes } from '../text-input.js'
import type { AggregatorSpec, PlanNode, TextSplit } from '../task.js'
import { isNonEmptyFilter, isSum, pairWithConstant, splitSeparator } from './shapes.js'
import { ByteWordTable, MAX_TOKENS_BEFORE_DRAIN } from './word-table.js'

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
  if (value === null) return null
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
  bytesRead: number
}

/**
 * Runs the fused stage: `emit(word, sum)` per distinct word (first-seen order). The table is
 * drained early when it passes `budgetBytes`, so memory stays bounded for any vocabulary.
 */
export function runWordCount(wc: FusedWordCount, budgetBytes: number, counters: FusedCounters, emit: (k: string, v: number) => void): void {
  // One table per worker process, reused by its tasks: its slot array would otherwise be fresh
  // memory every task, and first touches of fresh pages cost more than the counting.
  const table = (sharedTable ??= new ByteWordTable())
  if (table.size > 0) table.drain(() => {}) // left over by a task that failed mid-way
  const linesBefore = table.lines
  const c = wc.value
  const drain = (): void => table.drain((k, n) => emit(k, n * c))
  const onBytes = (n: number): void => { counters.bytesRead += n }
  let tokensAtDrain = table.tokens
  for (const split of wc.splits) {
    for (const chunk of readSplitBytes(split, onBytes)) {
      table.addLines(chunk, wc.sep, wc.skipEmpty)
      if (table.bytes > budgetBytes || table.tokens - tokensAtDrain > MAX_TOKENS_BEFORE_DRAIN) {
        drain()
        tokensAtDrain = table.tokens
      }
    }
  }
  try {
    drain()
  } finally {
    counters.recordsIn += table.lines - linesBefore
    // Keep a table of ordinary size only (one that grew past 64 MiB is left to the GC).
    if (table.bytes > 64 << 20) sharedTable = null
  }
}

let sharedTable: ByteWordTable | null = null
