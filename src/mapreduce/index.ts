// Public API of switchyard/mapreduce: what a job author uses. Cluster mode (coordinator, workers,
// the cluster executor) is switchyard/mapreduce/cluster; the scheduler, task runner and shuffle
// store are internals.
export { Context, type TextFileOptions, type CsvOptions } from './context.js'
export { Dataset, type PairDataset, type FnOptions, type ShuffleOptions, type CustomPartitioner, type PartitionRecords } from './dataset.js'
export { shippable } from './closure.js'
export { JobError, JobErrorCodes, type JobErrorCode } from './errors.js'
export { DEFAULTS, type ContextOptions } from './options.js'
export { formatSummary, type JobSummary, type StageSummary } from './summary.js'
export type { Executor, ExecutorEvent, ExecutorListener, WorkerInfo } from './executor.js'
export type { StorageLevel } from './task-spec.js'
export { Broadcast, Accumulator } from './shared-vars.js'
