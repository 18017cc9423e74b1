// The reduce side of a shuffle in a task: fetches and decodes partition p's blocks from every map
// output, then aggregates and/or sorts the pairs (spilling past the memory budget) as planned.
import { compileAggregator, ExternalAggregator } from './aggregator.js'
import { ExternalSorter } from './external-sort.js'
import { decodeFrames } from './record-frames.js'
import type { Batches } from './task-batches.js'
import type { TaskContext } from './task-runner.js'
import type { PlanInput, PlanNode } from './task-spec.js'
import { blockSize } from './task-pruning.js'

/** Records of a shuffle's reduce partition `p`: flat [k, v, k, v, ...] batches. */
export async function* readShuffle(ctx: TaskContext, shuffleId: number, p: number): Batches {
  const locations = ctx.task.shuffleInputs[shuffleId]
  if (locations === undefined) throw new Error(`Task has no locations for shuffle ${shuffleId}`)
  for (const loc of locations) {
    if (blockSize(loc, p) === 0) continue
    for await (const chunk of ctx.services.fetcher.fetch(shuffleId, loc, p)) {
      ctx.counters.shuffleReadBytes += chunk.length
      const out: unknown[][] = []
      decodeFrames(chunk, (flat) => out.push(flat))
      for (const flat of out) yield flat
    }
  }
}

/** Pairs from a shuffle as [k, v] tuples. */
async function* pairsOf(ctx: TaskContext, input: PlanInput, p: number): AsyncGenerator<[unknown, unknown][]> {
  if (input.kind === 'narrow') {
    yield* ctx.compute(input.node, p) as AsyncGenerator<[unknown, unknown][]>
    return
  }
  for await (const flat of readShuffle(ctx, input.shuffleId, p)) {
    const out: [unknown, unknown][] = new Array(flat.length >> 1)
    for (let i = 0, j = 0; i < flat.length; i += 2, j++) out[j] = [flat[i], flat[i + 1]]
    yield out
  }
}

export async function* shuffled(ctx: TaskContext, node: Extract<PlanNode, { op: 'shuffled' }>, p: number): Batches {
  const budget = ctx.task.memoryBudgetBytes
  let source: AsyncGenerator<[unknown, unknown][]> | Generator<[unknown, unknown][]>
  // (Without an aggregator: a sort, or pairs passed through as they come.)
  async function* allPairs(): AsyncGenerator<[unknown, unknown][]> {
    for (const input of node.inputs) yield* pairsOf(ctx, input, p)
  }
  if (node.aggregator !== undefined) {
    const agg = new ExternalAggregator(await compileAggregator(node.aggregator), budget, ctx.spillDir)
    const combined = node.combined === true
    for (let i = 0; i < node.inputs.length; i++) {
      const input = node.inputs[i] as PlanInput
      if (input.kind === 'shuffle') {
        // Shuffled pairs go in straight from the decoded [k, v, k, v, ...] arrays: no tuple per record.
        for await (const flat of readShuffle(ctx, input.shuffleId, p)) {
          if (combined) for (let j = 0; j < flat.length; j += 2) agg.insertCombiner(flat[j], flat[j + 1])
          else for (let j = 0; j < flat.length; j += 2) agg.insertValue(flat[j], flat[j + 1])
        }
        continue
      }
      // Co-partitioned input read in place: tag it here for a cogroup (shuffled inputs were tagged map-side).
      const cogroup = node.aggregator.kind === 'cogroup'
      for await (const b of pairsOf(ctx, input, p)) {
        for (const [k, v] of b) {
          const x = cogroup ? [i, v] : v
          if (combined) agg.insertCombiner(k, x)
          else agg.insertValue(k, x)
        }
      }
    }
    source = agg.results()
    if (node.sort === undefined) {
      yield* source
      ctx.counters.spillBytes += agg.spillBytes
      return
    }
    const sorter = new ExternalSorter(node.sort.ascending, budget, ctx.spillDir)
    for (const b of source) for (const [k, v] of b) sorter.insert(k, v)
    ctx.counters.spillBytes += agg.spillBytes
    yield* sorter.results()
    ctx.counters.spillBytes += sorter.spillBytes
    return
  }
  if (node.sort !== undefined) {
    const sorter = new ExternalSorter(node.sort.ascending, budget, ctx.spillDir)
    for await (const b of allPairs()) for (let i = 0; i < b.length; i++) sorter.insertPair(b[i] as [unknown, unknown])
    yield* sorter.results()
    ctx.counters.spillBytes += sorter.spillBytes
    return
  }
  yield* allPairs()
}
