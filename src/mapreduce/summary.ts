// Job and stage statistics: collected by the scheduler from task metrics, shown by the progress
// display and returned as JSON by Context.jobs() for UIs.
import type { TaskMetrics } from './task-spec.js'

export interface StageSummary {
  readonly stageId: number
  /** e.g. "reduceByKey (map side)" or "collect". */
  readonly name: string
  readonly kind: 'map' | 'result'
  readonly tasks: number
  tasksDone: number
  attempts: number
  failedAttempts: number
  recordsIn: number
  recordsOut: number
  bytesRead: number
  shuffleWriteBytes: number
  shuffleReadBytes: number
  spillBytes: number
  /** Successful attempts whose output a fused stage (fused/index.ts) produced. */
  fusedTasks: number
  /** Wall time from the first launch to the last completion. */
  ms: number
  /** 'skipped' when map outputs from an earlier job were reused. */
  status: 'pending' | 'running' | 'done' | 'skipped' | 'failed'
  startedAt: number
}

export interface JobSummary {
  readonly jobId: string
  readonly action: string
  status: 'running' | 'succeeded' | 'failed'
  readonly stages: StageSummary[]
  ms: number
  error?: string
  /** Worker processes lost during the job. */
  workersLost: number
}

export function newStageSummary(stageId: number, name: string, kind: 'map' | 'result', tasks: number): StageSummary {
  return {
    stageId, name, kind, tasks, tasksDone: 0, attempts: 0, failedAttempts: 0, recordsIn: 0, recordsOut: 0,
    bytesRead: 0, shuffleWriteBytes: 0, shuffleReadBytes: 0, spillBytes: 0, fusedTasks: 0, ms: 0, status: 'pending', startedAt: 0,
  }
}

export function addMetrics(s: StageSummary, m: TaskMetrics): void {
  s.recordsIn += m.recordsIn
  s.recordsOut += m.recordsOut
  s.bytesRead += m.bytesRead
  s.shuffleWriteBytes += m.shuffleWriteBytes
  s.shuffleReadBytes += m.shuffleReadBytes
  s.spillBytes += m.spillBytes
  if (m.fused !== undefined) s.fusedTasks++
}

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`

/** Human-readable table printed at the end of a job. */
export function formatSummary(job: JobSummary): string {
  const lines = [`job ${job.jobId} ${job.action}: ${job.status} in ${(job.ms / 1000).toFixed(2)} s${job.workersLost > 0 ? `, ${job.workersLost} worker(s) lost` : ''}`]
  for (const s of job.stages) {
    lines.push(
      `  stage ${s.stageId} ${s.name}: ${s.status}, ${s.tasksDone}/${s.tasks} tasks (${s.attempts} attempts), ` +
        `${s.recordsIn} records in, ${s.recordsOut} out, read ${mb(s.bytesRead)}, shuffle write ${mb(s.shuffleWriteBytes)}, ` +
        `shuffle read ${mb(s.shuffleReadBytes)}, spill ${mb(s.spillBytes)}, ${(s.ms / 1000).toFixed(2)} s`,
    )
  }
  return lines.join('\n')
}
