// Messages between the driver and a local worker process (IPC channel, advanced serialization).
import type { TaskDescription, TaskFailure, TaskMetrics, TaskResult } from './task-spec.js'

export type DriverMessage =
  | { readonly type: 'task'; readonly task: TaskDescription }
  | { readonly type: 'end-job'; readonly jobId: string; readonly scratchDir: string }
  | { readonly type: 'drop-cache'; readonly cacheKey: string }

export type WorkerMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'result'; readonly taskId: string; readonly result: TaskResult; readonly metrics: TaskMetrics }
  | { readonly type: 'failed'; readonly taskId: string; readonly failure: TaskFailure }
