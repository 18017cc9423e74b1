// Readers of the plan nodes a task starts from: text splits, parallelized slices, ranges,
// checkpoint files, and persisted partitions (read from the cache, or computed and stored).
import { readFileSync } from 'node:fs'
import { deserialize as v8Deserialize } from 'node:v8'
import { partitionCache } from './cache-store.js'
import { BATCH, type Batches, type Counters } from './task-batches.js'
import type { PlanNode } from './task-spec.js'
import { csvRecordParser, readSplitLines } from './text-input.js'

type Node<Op extends PlanNode['op']> = Extract<PlanNode, { op: Op }>

export async function* readText(node: Node<'text'>, p: number, c: Counters): Batches {
  const splits = node.splits[p] ?? []
  const parse = node.format === 'json' ? (l: string) => JSON.parse(l) as unknown : node.format === 'csv' && node.csv ? csvRecordParser(node.csv) : null
  const onBytes = (n: number): void => { c.bytesRead += n }
  for (const split of splits) {
    let first = true
    for await (const lines of readSplitLines(split, onBytes)) {
      let ls = lines
      if (node.format === 'csv' && node.csv?.header === true && first && split.start === 0) ls = lines.slice(1)
      first = false
      if (parse === null) { c.recordsIn += ls.length; yield ls; continue }
      const out: unknown[] = []
      for (const l of ls) if (l.length > 0) out.push(parse(l))
      c.recordsIn += out.length
      yield out
    }
  }
}

export async function* readParallelize(node: Node<'parallelize'>, p: number, c: Counters): Batches {
  const slice = node.slices[p]
  // Each task gets only its own slice (task-pruning.ts): a missing one is a planning error, not empty.
  if (slice === undefined) throw new Error(`Task has no slice ${p} of parallelize node ${node.id} (planning error)`)
  c.recordsIn += slice.length
  for (let i = 0; i < slice.length; i += BATCH) yield slice.slice(i, i + BATCH)
}

export async function* readRange(node: Node<'range'>, p: number, c: Counters): Batches {
  const total = Math.max(0, Math.ceil((node.end - node.start) / node.step))
  const from = Math.floor((total * p) / node.partitions)
  const to = Math.floor((total * (p + 1)) / node.partitions)
  for (let i = from; i < to; i += BATCH) {
    const n = Math.min(BATCH, to - i)
    const out = new Array<number>(n)
    for (let j = 0; j < n; j++) out[j] = node.start + (i + j) * node.step
    c.recordsIn += n
    yield out
  }
}

export async function* readCheckpoint(node: Node<'checkpointed'>, p: number, c: Counters): Batches {
  const file = node.files[p]
  if (file === undefined) return
  const buf = readFileSync(file)
  c.bytesRead += buf.length
  const all = v8Deserialize(buf) as unknown[]
  c.recordsIn += all.length
  for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH)
}

/**
 * Partition p of a persisted dataset: from this worker's cache, else computed from `input` and
 * stored. `cachedBlocks` gets `cacheKey:p` when the partition was read from or stored in the cache.
 */
export async function* readCached(node: Node<'cached'>, p: number, scratchDir: string, cachedBlocks: string[], input: () => Batches): Batches {
  const key = `${node.cacheKey}-${p}`
  const hit = partitionCache.get(key, node.level, scratchDir)
  if (hit !== undefined) {
    cachedBlocks.push(`${node.cacheKey}:${p}`)
    for (let i = 0; i < hit.length; i += BATCH) yield hit.slice(i, i + BATCH)
    return
  }
  const all: unknown[] = []
  for await (const b of input()) {
    for (let i = 0; i < b.length; i++) all.push(b[i])
    yield b
  }
  // Reached only when the partition was read to the end (take() may stop early).
  if (partitionCache.put(key, all, node.level, scratchDir, node.budgetBytes)) cachedBlocks.push(`${node.cacheKey}:${p}`)
}
