// Speculative execution: backup attempts, on another worker, of tasks running much longer than
// their stage's median. The first attempt to finish wins; the other's result is a duplicate.
import { freeWorker, launchOn, PlacementReasons, type Launch } from './placement.js'
import type { RunningTask, WorkerState } from './scheduler-state.js'

export interface SpeculationOptions {
  readonly speculationQuantile?: number
  readonly speculationMultiplier?: number
}

/** A stage as speculation sees it: its tasks' durations so far and how far along it is. */
export interface StageProgress {
  readonly key: string
  readonly jobId: string
  /** Durations (ms) of the stage's successful tasks. */
  readonly durations: readonly number[] | undefined
  readonly total: number
  /** Tasks done (asked only once there are durations). */
  done(): number
  /** Missing tasks not launched in this scheduling round. */
  readonly unlaunched: number
}

/**
 * Launches backups of the stage's stragglers. Considered once `speculationQuantile` of the stage
 * is done, or earlier as soon as every task of the stage has been launched (the tail): then a free
 * slot has nothing better to do, so a backup costs no other task its place.
 */
export function speculate(
  stage: StageProgress,
  running: ReadonlyMap<string, RunningTask>,
  workers: ReadonlyMap<string, WorkerState>,
  options: SpeculationOptions,
  launch: (partition: number, placement: Launch) => void,
): void {
  const { key, durations } = stage
  if (durations === undefined || durations.length === 0) return
  if (stage.unlaunched > 0 && stage.done() < Math.ceil((options.speculationQuantile ?? 0.75) * stage.total)) return
  const sorted = [...durations].sort((a, b) => a - b)
  const median = sorted[sorted.length >> 1] as number
  const threshold = Math.max(20, (options.speculationMultiplier ?? 1.5) * median)
  const now = performance.now()
  for (const t of [...running.values()]) {
    if (t.stageKey !== key || t.jobId !== stage.jobId || t.speculative || t.replica) continue
    if (now - t.startedAt <= threshold) continue
    let copies = 0
    for (const o of running.values()) if (o.stageKey === key && o.partition === t.partition && o.jobId === t.jobId) copies++
    if (copies > 1) continue
    const others = new Set([...workers.keys()].filter((w) => w !== t.workerId))
    const w = freeWorker(workers, others)
    if (w === null) return
    launch(t.partition, launchOn(w, PlacementReasons.SPECULATIVE))
  }
}
