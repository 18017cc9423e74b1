// Error codes for the proxy's protection layer (limits, request validation, IP lists), raised as
// ProxyError subclasses so callers can catch every proxy failure with one `instanceof`.
import type { SwitchyardErrorOptions } from '../../internal/errors.js'
import { ProxyError } from '../errors.js'

export const ProtectErrorCodes = {
  /** A CIDR string in an allow/deny list or region table cannot be parsed. */
  BAD_CIDR: 'ERR_PROXY_BAD_CIDR',
  /** The shared rate-limit store (Redis) failed and the policy is fail-closed. */
  RATE_STORE_DOWN: 'ERR_PROXY_RATE_STORE_DOWN',
} as const

export type ProtectErrorCode = (typeof ProtectErrorCodes)[keyof typeof ProtectErrorCodes]

/** A ProxyError whose code is one of the protection layer's (documented in docs/errors.md). */
export class ProtectError extends ProxyError<ProtectErrorCode> {
  constructor(code: ProtectErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
