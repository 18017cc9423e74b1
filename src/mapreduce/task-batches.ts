// What flows through a running task: records in arrays of up to BATCH (one array per step, no
// per-record promises), pushed one at a time through fused operators, and the task's counters.
import type { TaskMetrics } from './task-spec.js'

/** Records per array read from a source or handed between operators. */
export const BATCH = 4096

export type Batches = AsyncGenerator<unknown[]>
export type Emit = (x: unknown) => void

/** A running task's totals: the numeric fields of its TaskMetrics, mutable while it runs. */
export type Counters = { -readonly [K in 'recordsIn' | 'recordsOut' | 'bytesRead' | 'shuffleWriteBytes' | 'shuffleReadBytes' | 'spillBytes']: TaskMetrics[K] }
