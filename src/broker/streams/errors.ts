// JetStream error codes for the embedding program (stable, see docs/errors.md). Errors sent to
// clients over the JS API use nats-server's JSON error shape instead (see api-errors.ts).
import type { SwitchyardErrorOptions } from '../../internal/errors.js'
import { BrokerError } from '../errors.js'

export const JetStreamErrorCodes = {
  OPTIONS: 'ERR_BROKER_JS_OPTIONS',
  STORE_CLOSED: 'ERR_BROKER_JS_STORE_CLOSED',
  STORE_IO: 'ERR_BROKER_JS_STORE_IO',
  RECOVERY: 'ERR_BROKER_JS_RECOVERY',
} as const

export type JetStreamErrorCode = (typeof JetStreamErrorCodes)[keyof typeof JetStreamErrorCodes]

/** A BrokerError (instanceof works) whose codes live in the JetStream part of the catalog. */
export class JetStreamError extends BrokerError<JetStreamErrorCode> {
  constructor(code: JetStreamErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
