// The error a ShuffleFetcher throws when a map output is missing or unreadable; the scheduler turns
// it into a recomputation of that map output instead of a counted task failure.
import { JobError, JobErrorCodes } from './errors.js'
import type { TaskFailure } from './task-spec.js'

export class FetchFailedError extends JobError {
  readonly shuffleId: number
  readonly mapId: number

  constructor(shuffleId: number, mapId: number, message: string, options?: { cause?: unknown }) {
    super(JobErrorCodes.FETCH_FAILED, message, options)
    this.shuffleId = shuffleId
    this.mapId = mapId
  }
}

/** A task's error as the driver receives it (from a local or a cluster task process). */
export function failureOf(err: unknown): TaskFailure {
  const e = err instanceof Error ? err : new Error(String(err))
  const code = (e as { code?: unknown }).code
  return {
    message: e.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(err instanceof FetchFailedError ? { fetchFailed: { shuffleId: err.shuffleId, mapId: err.mapId } } : {}),
  }
}
