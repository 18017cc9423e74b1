// The one way into the fused byte-level stages: one matcher for the map side of a shuffle
// (shuffle-write.ts), one for the reduce side of a save (task-output.ts). Generic files import
// nothing else from fused/ (test/internal/layering.test.ts checks it), so turning fusion off
// (`new Context({ fused: false })`) is one condition in each caller.
import { compilePartitioner } from '../partitioner.js'
import { PairFrames } from '../pair-frames.js'
import { RAW_COUNT_FRAME } from '../record-frames.js'
import type { MapOutputWriter, ShuffleFetcher } from '../shuffle-store.js'
import type { Counters } from '../task-batches.js'
import type { MapOutputLocation, PlanNode, TaskOutput } from '../task-spec.js'
import { RawFrameBuilders } from './raw-frames.js'
import { matchSortMap, matchSortReduce, runSortMap, runSortReduce } from './sort.js'
import { matchSumSave, runSumSave } from './sum-save.js'
import { warmUpWordCount } from './warm-up.js'
import { CountFrameSink, matchWordCount, runWordCount, StringSink } from './word-count.js'

/** What a fused map side gets from the task: its map output, memory budget and counters. */
export interface FusedMapIo {
  readonly writer: MapOutputWriter
  readonly budgetBytes: number
  readonly counters: Counters
}

/** A fused map side, ready to run. */
export interface FusedMap {
  /** Names the stage in task metrics (`TaskMetrics.fused`). */
  readonly name: string
  /**
   * Writes the task's whole map output into `io.writer` (the caller commits it). False: the
   * input turned out not to fit the shape; what was appended is garbage (the caller aborts the
   * writer, restores the counters and runs the generic path).
   */
  run(io: FusedMapIo): Promise<boolean>
}

/** What a fused reduce side gets from the task: the shuffle blocks to read and the open part file. */
export interface FusedReduceIo {
  readonly shuffleInputs: Readonly<Record<number, readonly MapOutputLocation[]>>
  readonly partition: number
  readonly fetcher: ShuffleFetcher
  readonly budgetBytes: number
  readonly fd: number
  readonly counters: Counters
}

/** A fused reduce side (save), ready to run. */
export interface FusedReduce {
  readonly name: string
  /** Writes the whole part file into `io.fd`. False: nothing was written, run the generic path. */
  run(io: FusedReduceIo): Promise<boolean>
}

type ShuffleOutput = Extract<TaskOutput, { kind: 'shuffle' }>

/** The fused form of partition `p` of a shuffle map task, or undefined: run the generic path. */
export function matchFusedMap(plan: PlanNode, p: number, output: ShuffleOutput): FusedMap | undefined {
  const n = output.partitioner.partitions
  const sort = matchSortMap(plan, p, output)
  if (sort !== null) {
    return { name: 'sort (map side)', run: async (io) => runSortMap(sort, io.writer, io.budgetBytes / 4, io.counters) }
  }
  const wc = matchWordCount(plan, p, output.combine)
  if (wc === null) return undefined
  if (output.partitioner.kind === 'hash') {
    return {
      name: 'word count (map side)',
      async run(io) {
        // Pairs go out as raw count frames, hash-partitioned exactly as the generic partitioner does.
        await warmUpWordCount()
        const frames = new RawFrameBuilders(io.writer, n, RAW_COUNT_FRAME, io.budgetBytes / 4)
        runWordCount(wc, io.budgetBytes / 2, io.counters, new CountFrameSink(frames, n, wc.value))
        frames.finish()
        return true
      },
    }
  }
  const partitioner = output.partitioner
  return {
    name: 'word count (map side, string keys)',
    async run(io) {
      const pairs = new PairFrames(io.writer, await compilePartitioner(partitioner), n, io.budgetBytes / 4)
      runWordCount(wc, io.budgetBytes / 2, io.counters, new StringSink((k, v) => pairs.emit(k, v), wc.value))
      pairs.finish()
      return true
    },
  }
}

/** The fused form of a save task, or undefined: run the generic path. */
export function matchFusedReduce(plan: PlanNode, output: TaskOutput): FusedReduce | undefined {
  const sort = matchSortReduce(plan, output)
  if (sort !== null) {
    return {
      name: 'sort (reduce side)',
      run: (io) => runSortReduce(sort, { locations: io.shuffleInputs[sort.shuffleId] ?? [], partition: io.partition, fetcher: io.fetcher, budgetBytes: io.budgetBytes, fd: io.fd, counters: io.counters }),
    }
  }
  const sum = matchSumSave(plan, output)
  if (sum !== null) {
    return {
      name: 'word count (reduce side)',
      async run(io) {
        await warmUpWordCount()
        return runSumSave(sum, { locations: io.shuffleInputs[sum.shuffleId] ?? [], partition: io.partition, fetcher: io.fetcher, budgetBytes: io.budgetBytes, fd: io.fd, counters: io.counters })
      },
    }
  }
  return undefined
}
