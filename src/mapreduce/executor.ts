// The executor interface: the scheduler's only view of the machines that run tasks. Local mode
// implements it with forked worker processes (local-executor.ts); cluster mode implements it over
// TCP. One scheduler (scheduler.ts) drives either.
//
// Contract:
// - `start(listener)` resolves once at least one worker is up, with the workers known then. Later
//   arrivals and losses come as events. Events are delivered one at a time, in order, never
//   synchronously from inside `launch`/`cancel` (use queueMicrotask/setImmediate if needed).
// - `launch(workerId, task)` starts the task on that worker. The worker must have a free slot
//   (the scheduler counts slots from `WorkerInfo.slots` and events), unless the executor sets
//   `queuesTasks`: then one more task per worker may be launched, which waits on the worker. Exactly one terminal event per
//   launched task follows: `task-succeeded`, `task-failed`, or the `worker-lost` of its worker
//   (then no task event for it is sent, and a late one must be dropped by the implementation).
// - `cancel(taskId)` is best effort: a task that still finishes reports normally; the scheduler
//   ignores results it no longer wants (output commit decides exactly-once, see output-commit.ts).
// - `close()` stops every worker and releases resources; events stop.
// - On the worker side, a task is run with `runTask(task, services)` from task-runner.ts, where
//   `services` gives the worker's ShuffleBlockStore and a ShuffleFetcher (shuffle-store.ts).
import type { TaskDescription, TaskFailure, TaskMetrics, TaskResult } from './task-spec.js'

export interface WorkerInfo {
  /** Unique for the life of the executor; a restarted process gets a new id. */
  readonly id: string
  /** Tasks it runs at once. */
  readonly slots: number
  /** Shuffle service address for remote fetch (cluster mode); '' in local mode. */
  readonly address: string
  /** OS process id when the worker is a local process (the fault tests kill it). */
  readonly pid?: number
}

export type ExecutorEvent =
  | { readonly type: 'worker-up'; readonly worker: WorkerInfo }
  | { readonly type: 'worker-lost'; readonly workerId: string; readonly reason: string }
  | {
      readonly type: 'task-succeeded'
      readonly taskId: string
      readonly workerId: string
      readonly result: TaskResult
      readonly metrics: TaskMetrics
    }
  | {
      readonly type: 'task-failed'
      readonly taskId: string
      readonly workerId: string
      readonly failure: TaskFailure
      readonly metrics?: TaskMetrics
    }

export type ExecutorListener = (event: ExecutorEvent) => void

export interface Executor {
  /** Short name for summaries: 'local', 'cluster'. */
  readonly kind: string
  /**
   * Workers queue a task launched while all their slots are busy and start it when one frees. The
   * scheduler then queues a task reading a cached partition behind the worker that holds it.
   */
  readonly queuesTasks?: boolean
  start(listener: ExecutorListener): Promise<readonly WorkerInfo[]>
  launch(workerId: string, task: TaskDescription): void
  cancel(taskId: string): void
  /**
   * Drops per-job state on every worker (scratch files, cached compiled functions); called when a
   * job ends. `scratchDir` is the directory the job's TaskDescriptions carried.
   */
  endJob(jobId: string, scratchDir: string): void
  /**
   * Stops a task that ran past its timeout, even by force (local mode kills the worker process
   * running it; a worker-lost event follows). Without it the task keeps its slot until it reports.
   */
  abort?(taskId: string): void
  /** unpersist(): every worker drops its partitions of `cacheKey` (memory and disk) and frees them. */
  dropCached?(cacheKey: string): void
  /**
   * Cache keys starting with `prefix` belong to this driver: workers that outlive it (a cluster's)
   * drop them when it goes away, cleanly or not.
   */
  claimCacheNamespace?(prefix: string): void
  close(): Promise<void>
}
