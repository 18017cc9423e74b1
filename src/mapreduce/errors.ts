// Error class and stable codes of the MapReduce engine (listed in docs/errors.md, "MapReduce").
import { SwitchyardError, type SwitchyardErrorOptions } from '../internal/errors.js'

export const JobErrorCodes = {
  /** An inline function captures a variable from its surroundings; the message names it. */
  FREE_VARIABLE: 'ERR_JOB_FREE_VARIABLE',
  /** A function could not be turned into shippable source (native, bound, unparsable). */
  FUNCTION_NOT_SHIPPABLE: 'ERR_JOB_FUNCTION_NOT_SHIPPABLE',
  /** A task failed on every allowed attempt; the message names the stage, partition and error. */
  TASK_FAILED: 'ERR_JOB_TASK_FAILED',
  /** The output directory of a save action already exists. */
  OUTPUT_EXISTS: 'ERR_JOB_OUTPUT_EXISTS',
  /** A save action's output directory cannot be created: parent is a file, dangling link, procfs, not writable. */
  OUTPUT_LOCATION: 'ERR_JOB_OUTPUT_LOCATION',
  /** An input path or glob matched no file. */
  INPUT_NOT_FOUND: 'ERR_JOB_INPUT_NOT_FOUND',
  /** Invalid options or arguments given to the Context or an operator. */
  INVALID_ARGUMENT: 'ERR_JOB_INVALID_ARGUMENT',
  /** cartesian() would produce more pairs than its guard allows. */
  CARTESIAN_TOO_LARGE: 'ERR_JOB_CARTESIAN_TOO_LARGE',
  /** Every worker died and none could be started again. */
  NO_WORKERS: 'ERR_JOB_NO_WORKERS',
  /** The Context was stopped (or its executor closed) while a job ran. */
  CANCELLED: 'ERR_JOB_CANCELLED',
  /** A shuffle block could not be read: the scheduler recomputes the map output (internal). */
  FETCH_FAILED: 'ERR_JOB_FETCH_FAILED',
  /** A job file given to `switchyard run` has no usable default export. */
  BAD_JOB_FILE: 'ERR_JOB_BAD_JOB_FILE',
  /** `switchyard run`: the job's default export returned a promise that never settled. */
  UNSETTLED: 'ERR_JOB_UNSETTLED',
  /** A record holds a value no serialisation path carries unchanged (function, symbol, class instance, cycle). */
  UNSUPPORTED_VALUE: 'ERR_JOB_UNSUPPORTED_VALUE',
  /** collect()/take() results exceed maxResultMb (the driver would run out of memory). */
  RESULT_TOO_LARGE: 'ERR_JOB_RESULT_TOO_LARGE',
  /** `switchyard run`: the job's return value cannot be printed as JSON (bigint, cycle). */
  RESULT_NOT_JSON: 'ERR_JOB_RESULT_NOT_JSON',
  /** `switchyard run`: the job threw something that is not an Error. */
  JOB_THREW: 'ERR_JOB_THREW',
  /** An action was called on an empty dataset that needs at least one element (reduce, first). */
  EMPTY_DATASET: 'ERR_JOB_EMPTY_DATASET',
} as const

export type JobErrorCode = (typeof JobErrorCodes)[keyof typeof JobErrorCodes]

/** The code type is this catalog's, or an extension's (a subclass passes its own code union). */
export class JobError<C extends string = JobErrorCode> extends SwitchyardError {
  declare readonly code: C

  constructor(code: C, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
