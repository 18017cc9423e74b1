// Context options: one DEFAULTS table with units, one resolveOptions() that validates and freezes.
import { availableParallelism, tmpdir } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { deepFreeze, type DeepReadonly } from '../internal/freeze.js'
import { JobError, JobErrorCodes } from './errors.js'
import { boolOption, fractionOption, intOption } from '../internal/option-check.js'
import type { Executor } from './executor.js'

export const DEFAULTS = {
  /** Worker processes in local mode. Default: CPU count. */
  workers: availableParallelism(),
  /** Memory a worker may use for aggregation / sort buffers before spilling (MiB). */
  memoryPerWorkerMb: 512,
  /** Fraction of memoryPerWorkerMb a task fills (by estimate) before it spills; the rest is V8 overhead. */
  spillFraction: 0.3,
  /** Attempts per task before the job fails (the loss of the worker running it counts as one). */
  maxTaskAttempts: 4,
  /** Target bytes per text input split. */
  splitBytes: 32 * 2 ** 20,
  /** Partitions of parallelize/range and of shuffles when not given: 2 per worker. */
  defaultPartitions: 0,
  /**
   * Largest estimated size of what collect()/take() bring to the driver, all partitions together
   * (MiB), like Spark's spark.driver.maxResultSize: 1024, or a quarter of this process's V8 heap
   * limit if that is less. Collected records take about 1.6-1.8x their estimate at the peak, so a
   * fixed 1 GiB would let a driver with a smaller heap (a small machine, --max-old-space-size) die
   * of a V8 heap abort instead of failing with ERR_JOB_RESULT_TOO_LARGE.
   */
  maxResultMb: Math.max(1, Math.min(1024, Math.floor(getHeapStatistics().heap_size_limit / 4 / 2 ** 20))),
  /** A task attempt running longer than this fails (counted as an attempt; local workers running it are killed); 0 = no limit (ms). */
  taskTimeoutMs: 0,
  /** Largest cartesian() result allowed, in pairs. */
  cartesianMaxPairs: 10_000_000,
  /** Progress bars on stderr (redrawn in place on a TTY, printed as lines every 2 s elsewhere). */
  progress: false,
  /** Where shuffle and spill files go (a fresh directory is made inside). */
  scratchDir: tmpdir(),
  /** Fraction of memoryPerWorkerMb that persisted partitions (cache()) may hold per worker. */
  storageFraction: 0.5,
  /** Speculative execution: backup attempts for stragglers (cluster-mode feature, works locally too). */
  speculation: false,
  /** Fraction of a stage's tasks that must be done before stragglers get backups. */
  speculationQuantile: 0.75,
  /** A task running longer than this multiple of the stage's median task time is a straggler. */
  speculationMultiplier: 1.5,
  /** How long a task waits for the worker holding its cached input before running elsewhere (ms). */
  localityWaitMs: 3000,
  /** Where checkpoint() writes ('' = inside the scratch directory; use a shared file system in cluster mode). */
  checkpointDir: '',
  /**
   * Fused byte-level stages (fused/index.ts) for the program shapes they recognise; false runs
   * every task on the generic path (to compare the two, or to rule fusion out when debugging).
   */
  fused: true,
  /** Cluster mode: `sy://host:port` of a coordinator ('' = local mode). */
  master: '',
  /** Cluster mode: the shared secret of the coordinator. */
  secret: '',
} as const

export interface ContextOptions {
  workers?: number
  memoryPerWorkerMb?: number
  spillFraction?: number
  maxTaskAttempts?: number
  splitBytes?: number
  defaultPartitions?: number
  cartesianMaxPairs?: number
  maxResultMb?: number
  taskTimeoutMs?: number
  progress?: boolean
  scratchDir?: string
  /** Extra node flags for local worker processes. */
  workerExecArgv?: string[]
  storageFraction?: number
  speculation?: boolean
  speculationQuantile?: number
  speculationMultiplier?: number
  localityWaitMs?: number
  checkpointDir?: string
  /** False: never run the fused byte-level stages, only the generic path (default true). */
  fused?: boolean
  /** Runs on a cluster: `sy://host:7077` (see docs/mapreduce.md, "Cluster mode"). */
  master?: string
  /** Shared secret for `master`. */
  secret?: string
  /** Runs tasks somewhere else (cluster mode); default: a LocalExecutor with `workers` processes. */
  executor?: Executor
}

export type ResolvedOptions = DeepReadonly<Omit<Required<ContextOptions>, 'executor'>> & { readonly executor: Executor | undefined }

function bad(message: string): never {
  throw new JobError(JobErrorCodes.INVALID_ARGUMENT, message)
}
const positiveInt = (name: string, v: unknown): number => intOption(bad, name, v, 1)
const nonNegativeInt = (name: string, v: unknown): number => intOption(bad, name, v, 0)
const bool = (name: string, v: unknown): boolean => boolOption(bad, name, v)
const fraction = (name: string, v: unknown): number => fractionOption(bad, name, v)

export function resolveOptions(options: ContextOptions = {}): ResolvedOptions {
  const workers = positiveInt('workers', options.workers ?? DEFAULTS.workers)
  const spillFraction = fraction('spillFraction', options.spillFraction ?? DEFAULTS.spillFraction)
  const resolved = {
    workers,
    memoryPerWorkerMb: positiveInt('memoryPerWorkerMb', options.memoryPerWorkerMb ?? DEFAULTS.memoryPerWorkerMb),
    spillFraction,
    maxTaskAttempts: positiveInt('maxTaskAttempts', options.maxTaskAttempts ?? DEFAULTS.maxTaskAttempts),
    splitBytes: positiveInt('splitBytes', options.splitBytes ?? DEFAULTS.splitBytes),
    defaultPartitions: options.defaultPartitions === undefined || options.defaultPartitions === 0 ? workers * 2 : positiveInt('defaultPartitions', options.defaultPartitions),
    cartesianMaxPairs: positiveInt('cartesianMaxPairs', options.cartesianMaxPairs ?? DEFAULTS.cartesianMaxPairs),
    taskTimeoutMs: nonNegativeInt('taskTimeoutMs', options.taskTimeoutMs ?? DEFAULTS.taskTimeoutMs),
    maxResultMb: positiveInt('maxResultMb', options.maxResultMb ?? DEFAULTS.maxResultMb),
    progress: options.progress ?? DEFAULTS.progress,
    scratchDir: options.scratchDir ?? DEFAULTS.scratchDir,
    workerExecArgv: [...(options.workerExecArgv ?? [])],
    storageFraction: fraction('storageFraction', options.storageFraction ?? DEFAULTS.storageFraction),
    speculation: options.speculation ?? DEFAULTS.speculation,
    speculationQuantile: fraction('speculationQuantile', options.speculationQuantile ?? DEFAULTS.speculationQuantile),
    speculationMultiplier: options.speculationMultiplier ?? DEFAULTS.speculationMultiplier,
    localityWaitMs: options.localityWaitMs ?? DEFAULTS.localityWaitMs,
    checkpointDir: options.checkpointDir ?? DEFAULTS.checkpointDir,
    fused: bool('fused', options.fused ?? DEFAULTS.fused),
    master: options.master ?? DEFAULTS.master,
    secret: options.secret ?? DEFAULTS.secret,
  }
  return Object.freeze({ ...deepFreeze(resolved), executor: options.executor })
}
