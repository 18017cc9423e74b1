// The records the DAG scheduler keeps: the job it is asked to run (and its stages' order), the job
// while it runs, each running task attempt and each worker's slots. Shared with its helpers.
import type { WorkerInfo } from './executor.js'
import type { JobSummary, StageSummary } from './summary.js'
import type { PlanNode, TaskOutput, TaskResult } from './task-spec.js'
import type { JobError } from './errors.js'

export interface ShuffleStageDef {
  readonly shuffleId: number
  readonly name: string
  readonly partitions: number
  readonly plan: PlanNode
  readonly output: Extract<TaskOutput, { kind: 'shuffle' }>
  /** Shuffle ids this stage's plan reads. */
  readonly parents: readonly number[]
}

export interface JobRequest {
  readonly jobId: string
  readonly action: string
  readonly name: string
  readonly plan: PlanNode
  /** Partitions of `plan` to compute. */
  readonly partitions: readonly number[]
  readonly output: TaskOutput
  readonly parents: readonly number[]
  /** Every shuffle stage reachable from the result stage. */
  readonly shuffles: ReadonlyMap<number, ShuffleStageDef>
  readonly scratchDir: string
  readonly memoryBudgetBytes: number
  /** False: tasks run the generic path only (TaskDescription.fused). */
  readonly fused?: boolean
  /** Called once per partition with the first successful result; later attempts are `duplicate`. */
  onResult(partition: number, result: TaskResult, duplicate: boolean): void
  onProgress?(job: JobSummary): void
}

/** Topological order of the shuffle stages `req` needs (parents first), then null: the result stage. */
export function stageOrder(req: JobRequest): (number | null)[] {
  const order: (number | null)[] = []
  const seen = new Set<number>()
  const visit = (id: number): void => {
    if (seen.has(id)) return
    seen.add(id)
    const def = req.shuffles.get(id)
    if (def === undefined) throw new Error(`Missing definition of shuffle ${id}`)
    for (const p of def.parents) visit(p)
    order.push(id)
  }
  for (const p of req.parents) visit(p)
  order.push(null)
  return order
}

/** A worker as the scheduler sees it: its slots and the task ids running (or queued) on it. */
export interface WorkerState {
  readonly info: WorkerInfo
  readonly running: Set<string>
}

export interface RunningTask {
  readonly stageKey: string
  readonly partition: number
  readonly workerId: string
  readonly shuffleId: number | null
  readonly attempt: number
  readonly jobId: string
  readonly startedAt: number
  /** A backup copy launched by speculation. */
  readonly speculative: boolean
  /** A second copy run only to cache a MEMORY_2 partition on another worker (its result is a duplicate). */
  readonly replica: boolean
}

/** A MEMORY_2 partition cached on one worker so far: its task is run again on another worker. */
export interface PendingReplica {
  readonly stageKey: string
  readonly partition: number
  readonly holder: string
  /** Worker computing the second copy, once launched. */
  on: string | null
}

export interface ActiveJob {
  readonly req: JobRequest
  readonly summary: JobSummary
  readonly order: readonly (number | null)[]
  readonly done: Set<number>
  /** Index into req.partitions before which every partition is done (done only grows in a job). */
  scanFrom: number
  readonly failures: Map<string, number>
  readonly stageSummaries: Map<string, StageSummary>
  failed: JobError | null
  resolve: () => void
  /** Durations (ms) of successful tasks per stage key, for speculation. */
  readonly durations: Map<string, number[]>
  /** When a task first waited for its preferred (cache-holding) worker, per stage:partition. */
  readonly localityWait: Map<string, number>
  /** MEMORY_2 partitions waiting for (or computing) their second copy, per stage:partition. */
  readonly replicas: Map<string, PendingReplica>
}
