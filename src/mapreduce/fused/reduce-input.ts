// What a fused reduce side reads and writes: one shuffle partition's map outputs (through the
// fetcher), the task's memory budget, the open part file and the task's counters.
import type { ShuffleFetcher } from '../shuffle-store.js'
import type { MapOutputLocation } from '../task-spec.js'

export interface FusedReduceInput {
  readonly locations: readonly MapOutputLocation[]
  readonly partition: number
  readonly fetcher: ShuffleFetcher
  readonly budgetBytes: number
  readonly fd: number
  readonly counters: { recordsOut: number; shuffleReadBytes: number }
}
