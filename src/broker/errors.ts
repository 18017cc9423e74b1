// Broker error class and its stable codes (documented in docs/errors.md). Protocol errors sent to
// clients use nats-server's wording (see PROTO_ERR); these codes are for the embedding program.
import { SwitchyardError, type SwitchyardErrorOptions } from '../internal/errors.js'

export const BrokerErrorCodes = {
  OPTIONS: 'ERR_BROKER_OPTIONS',
  LISTEN: 'ERR_BROKER_LISTEN',
  CLOSED: 'ERR_BROKER_CLOSED',
  BAD_SUBJECT: 'ERR_BROKER_BAD_SUBJECT',
  MAX_PAYLOAD: 'ERR_BROKER_MAX_PAYLOAD',
  BAD_HEADERS: 'ERR_BROKER_BAD_HEADERS',
  TLS: 'ERR_BROKER_TLS',
} as const

export type BrokerErrorCode = (typeof BrokerErrorCodes)[keyof typeof BrokerErrorCodes]

/** The code type is this catalog's, or an extension's (a subclass passes its own code union). */
export class BrokerError<C extends string = BrokerErrorCode> extends SwitchyardError {
  declare readonly code: C

  constructor(code: C, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}

/** `-ERR` texts, worded exactly as nats-server sends them. */
export const PROTO_ERR = {
  UNKNOWN_OP: 'Unknown Protocol Operation',
  MAX_PAYLOAD: 'Maximum Payload Violation',
  MAX_CONTROL_LINE: 'maximum control line exceeded',
  INVALID_SUBJECT: 'Invalid Subject',
  INVALID_PUB_SUBJECT: 'Invalid Publish Subject',
  AUTH_VIOLATION: 'Authorization Violation',
  AUTH_TIMEOUT: 'Authentication Timeout',
  STALE: 'Stale Connection',
  SLOW_CONSUMER: 'Slow Consumer',
  MAX_CONNECTIONS: 'maximum connections exceeded',
  MAX_SUBS: 'maximum subscriptions exceeded',
  NO_RESPONDERS_HEADERS: 'no responders requires headers support',
  SECURE_REQUIRED: 'Secure Connection - TLS Required',
} as const
