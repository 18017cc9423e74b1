// The map side of a shuffle in a task: partitions the stage's pairs by key (combined map-side when
// the shuffle has an aggregator) into frames of one map output, or runs a whole-stage fused kernel.
import { compileAggregator, ExternalAggregator } from './aggregator.js'
import { encodeFrame, RAW_COUNT_FRAME } from './record-frames.js'
import { CountFrameSink, matchWordCount, runWordCount, StringSink } from './fused/word-count.js'
import { RawFrameBuilders } from './fused/raw-frames.js'
import { warmUpWordCount } from './fused/warm-up.js'
import { matchSortMap, runSortMap } from './fused/sort.js'
import { compilePartitioner } from './partitioner.js'
import { BATCH } from './task-batches.js'
import type { TaskContext } from './task-runner.js'
import type { TaskDescription, TaskResult } from './task-spec.js'

export async function writeShuffle(ctx: TaskContext, output: Extract<TaskDescription['output'], { kind: 'shuffle' }>): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const n = output.partitioner.partitions
  const budget = task.memoryBudgetBytes
  const fusedSort = matchSortMap(task.plan, task.partition, output)
  if (fusedSort !== null) {
    // Whole-stage fused sort map side (fused/sort.ts); non-ASCII input starts over below.
    const w = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
    const saved = { ...c }
    let done = false
    try {
      done = runSortMap(fusedSort, w, budget / 4, c)
    } finally {
      if (!done) w.abort()
    }
    if (done) {
      const sizes = w.commit()
      for (const s of sizes) c.shuffleWriteBytes += s
      return { kind: 'map-status', sizes }
    }
    Object.assign(c, saved)
  }
  const part = await compilePartitioner(output.partitioner)
  const writer = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
  try {
    const buffers: unknown[][] = Array.from({ length: n }, () => [])
    const emit = (k: unknown, v: unknown): void => {
      const r = part(k)
      const b = buffers[r] as unknown[]
      b.push(k, v)
      if (b.length >= BATCH * 2) {
        writer.append(r, encodeFrame(b))
        buffers[r] = []
        if (writer.bufferedBytes > budget / 4) writer.flush()
      }
    }
    const fusedWc = matchWordCount(task.plan, task.partition, output.combine)
    if (fusedWc !== null && output.partitioner.kind === 'hash') {
      // Whole-stage fused word count (fused/word-count.ts): same pairs, byte-level loop, raw count frames.
      await warmUpWordCount()
      const frames = new RawFrameBuilders(writer, n, RAW_COUNT_FRAME, budget / 4)
      runWordCount(fusedWc, budget / 2, c, new CountFrameSink(frames, n, fusedWc.value))
      frames.finish()
    } else if (fusedWc !== null) {
      runWordCount(fusedWc, budget / 2, c, new StringSink(emit, fusedWc.value))
    } else if (output.combine !== undefined) {
      const agg = new ExternalAggregator(await compileAggregator(output.combine), budget / 2, ctx.spillDir)
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; agg.insertValue(r[0], r[1]) })
      for (const b of agg.results()) for (const [k, v] of b) { emit(k, v); c.recordsOut++ }
      c.spillBytes += agg.spillBytes
    } else {
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; emit(r[0], r[1]); c.recordsOut++ })
    }
    for (let r = 0; r < n; r++) {
      const b = buffers[r] as unknown[]
      if (b.length > 0) writer.append(r, encodeFrame(b))
    }
    const sizes = writer.commit()
    for (const s of sizes) c.shuffleWriteBytes += s
    return { kind: 'map-status', sizes }
  } catch (err) {
    writer.abort()
    throw err
  }
}
