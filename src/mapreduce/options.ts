// Context options: one DEFAULTS table with units, one resolveOptions() that validates and freezes.
import { availableParallelism, tmpdir } from 'node:os'
import { deepFreeze, type DeepReadonly } from '../internal/freeze.js'
import { JobError, JobErrorCodes } from './errors.js'
import type { Executor } from './executor.js'

export const DEFAULTS = {
  /** Worker processes in local mode. Default: CPU count. */
  workers: availableParallelism(),
  /** Memory a worker may use for aggregation / sort buffers before spilling (MiB). */
  memoryPerWorkerMb: 512,
  /** Fraction of memoryPerWorkerMb a task fills (by estimate) before it spills; the rest is V8 overhead. */
  spillFraction: 0.3,
  /** Attempts per task before the job fails (worker loss does not count). */
  maxTaskAttempts: 4,
  /** Target bytes per text input split. */
  splitBytes: 32 * 2 ** 20,
  /** Partitions of parallelize/range and of shuffles when not given: 2 per worker. */
  defaultPartitions: 0,
  /** Largest cartesian() result allowed, in pairs. */
  cartesianMaxPairs: 10_000_000,
  /** Progress bars on stderr (only shown when stderr is a TTY). */
  progress: false,
  /** Where shuffle and spill files go (a fresh directory is made inside). */
  scratchDir: tmpdir(),
} as const

export interface ContextOptions {
  workers?: number
  memoryPerWorkerMb?: number
  spillFraction?: number
  maxTaskAttempts?: number
  splitBytes?: number
  defaultPartitions?: number
  cartesianMaxPairs?: number
  progress?: boolean
  scratchDir?: string
  /** Extra node flags for local worker processes. */
  workerExecArgv?: string[]
  /** Runs tasks somewhere else (cluster mode); default: a LocalExecutor with `workers` processes. */
  executor?: Executor
}

export type ResolvedOptions = DeepReadonly<Omit<Required<ContextOptions>, 'executor'>> & { readonly executor: Executor | undefined }

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new JobError(JobErrorCodes.INVALID_ARGUMENT, `Invalid option ${name}: ${String(v)}; expected a positive integer`)
  return v
}

export function resolveOptions(options: ContextOptions = {}): ResolvedOptions {
  const workers = positiveInt('workers', options.workers ?? DEFAULTS.workers)
  const spillFraction = options.spillFraction ?? DEFAULTS.spillFraction
  if (!(spillFraction > 0 && spillFraction <= 1)) throw new JobError(JobErrorCodes.INVALID_ARGUMENT, `Invalid option spillFraction: ${spillFraction}; expected (0, 1]`)
  const resolved = {
    workers,
    memoryPerWorkerMb: positiveInt('memoryPerWorkerMb', options.memoryPerWorkerMb ?? DEFAULTS.memoryPerWorkerMb),
    spillFraction,
    maxTaskAttempts: positiveInt('maxTaskAttempts', options.maxTaskAttempts ?? DEFAULTS.maxTaskAttempts),
    splitBytes: positiveInt('splitBytes', options.splitBytes ?? DEFAULTS.splitBytes),
    defaultPartitions: options.defaultPartitions === undefined || options.defaultPartitions === 0 ? workers * 2 : positiveInt('defaultPartitions', options.defaultPartitions),
    cartesianMaxPairs: positiveInt('cartesianMaxPairs', options.cartesianMaxPairs ?? DEFAULTS.cartesianMaxPairs),
    progress: options.progress ?? DEFAULTS.progress,
    scratchDir: options.scratchDir ?? DEFAULTS.scratchDir,
    workerExecArgv: [...(options.workerExecArgv ?? [])],
  }
  return Object.freeze({ ...deepFreeze(resolved), executor: options.executor })
}
