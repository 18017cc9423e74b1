// The map side of a shuffle in a task: partitions the stage's pairs by key (combined map-side when
// the shuffle has an aggregator) into frames of one map output, or runs a fused stage (fused/).
import { compileAggregator, ExternalAggregator } from './aggregator.js'
import { matchFusedMap } from './fused/index.js'
import { PairFrames } from './pair-frames.js'
import { compilePartitioner } from './partitioner.js'
import type { TaskContext } from './task-runner.js'
import type { TaskDescription, TaskResult } from './task-spec.js'

type ShuffleOutput = Extract<TaskDescription['output'], { kind: 'shuffle' }>

export async function writeShuffle(ctx: TaskContext, output: ShuffleOutput): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const n = output.partitioner.partitions
  const budget = task.memoryBudgetBytes
  const fused = task.fused === false ? undefined : matchFusedMap(task.plan, task.partition, output)
  if (fused !== undefined) {
    const w = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
    const saved = { ...c }
    let done = false
    try {
      done = await fused.run({ writer: w, budgetBytes: budget, counters: c })
    } finally {
      if (!done) w.abort()
    }
    if (done) {
      ctx.fusedStage = fused.name
      return mapStatus(ctx, w.commit())
    }
    // The input did not fit the fused shape: start over on the generic path.
    Object.assign(c, saved)
  }
  const part = await compilePartitioner(output.partitioner)
  const writer = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
  try {
    const pairs = new PairFrames(writer, part, n, budget / 4)
    if (output.combine !== undefined) {
      const agg = new ExternalAggregator(await compileAggregator(output.combine), budget / 2, ctx.spillDir)
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; agg.insertValue(r[0], r[1]) })
      for (const b of agg.results()) for (const [k, v] of b) { pairs.emit(k, v); c.recordsOut++ }
      c.spillBytes += agg.spillBytes
    } else {
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; pairs.emit(r[0], r[1]); c.recordsOut++ })
    }
    pairs.finish()
    return mapStatus(ctx, writer.commit())
  } catch (err) {
    writer.abort()
    throw err
  }
}

function mapStatus(ctx: TaskContext, sizes: number[]): TaskResult {
  for (const s of sizes) ctx.counters.shuffleWriteBytes += s
  return { kind: 'map-status', sizes }
}
