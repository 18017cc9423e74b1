// JetStream error codes for the embedding program (stable, see docs/errors.md). Errors sent to
// clients over the JS API use nats-server's JSON error shape instead (see api-errors.ts).
import type { SwitchyardErrorOptions } from '../../internal/errors.js'
import { BrokerError, type BrokerErrorCode } from '../errors.js'

export const JetStreamErrorCodes = {
  OPTIONS: 'ERR_BROKER_JS_OPTIONS',
  STORE_CLOSED: 'ERR_BROKER_JS_STORE_CLOSED',
  STORE_IO: 'ERR_BROKER_JS_STORE_IO',
  RECOVERY: 'ERR_BROKER_JS_RECOVERY',
} as const

export type JetStreamErrorCode = (typeof JetStreamErrorCodes)[keyof typeof JetStreamErrorCodes]

/** A BrokerError (instanceof works) whose codes live in the JetStream part of the catalog. */
export class JetStreamError extends BrokerError {
  constructor(code: JetStreamErrorCode, message: string, options?: SwitchyardErrorOptions) {
    // BrokerError's code type lists the core's codes; the JetStream codes extend that catalog.
    super(code as unknown as BrokerErrorCode, message, options)
  }
}
