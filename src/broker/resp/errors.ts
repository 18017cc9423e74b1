// Redis (RESP) front-end errors: one class with a stable code (docs/errors.md). Clients see Redis's
// own error texts (`-ERR Protocol error: ...`); the code names the failure for logs and embedders.
import { SwitchyardError, type SwitchyardErrorOptions } from '../../internal/errors.js'

export const RespErrorCodes = {
  /** Bytes that do not form a request (bad lengths, limits exceeded, unbalanced quotes): answered with `-ERR Protocol error: ...`, then closed. */
  PROTOCOL: 'ERR_BROKER_RESP_PROTOCOL',
} as const

export type RespErrorCode = (typeof RespErrorCodes)[keyof typeof RespErrorCodes]

export class RespError extends SwitchyardError {
  constructor(code: RespErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
