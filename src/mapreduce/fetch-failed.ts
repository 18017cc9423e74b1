// The error a ShuffleFetcher throws when a map output is missing or unreadable; the scheduler turns
// it into a recomputation of that map output instead of a counted task failure.
import { JobError, JobErrorCodes } from './errors.js'

export class FetchFailedError extends JobError {
  readonly shuffleId: number
  readonly mapId: number

  constructor(shuffleId: number, mapId: number, message: string, options?: { cause?: unknown }) {
    super(JobErrorCodes.FETCH_FAILED, message, options)
    this.shuffleId = shuffleId
    this.mapId = mapId
  }
}
