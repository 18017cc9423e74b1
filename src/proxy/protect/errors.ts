// Error codes for the proxy's protection layer (limits, request validation, IP lists), raised as
// ProxyError subclasses so callers can catch every proxy failure with one `instanceof`.
import type { SwitchyardErrorOptions } from '../../internal/errors.js'
import { ProxyError, type ProxyErrorCode } from '../errors.js'

export const ProtectErrorCodes = {
  /** A CIDR string in an allow/deny list or region table cannot be parsed. */
  BAD_CIDR: 'ERR_PROXY_BAD_CIDR',
  /** The shared rate-limit store (Redis) failed and the policy is fail-closed. */
  RATE_STORE_DOWN: 'ERR_PROXY_RATE_STORE_DOWN',
} as const

export type ProtectErrorCode = (typeof ProtectErrorCodes)[keyof typeof ProtectErrorCodes]

export class ProtectError extends ProxyError {
  constructor(code: ProtectErrorCode, message: string, options?: SwitchyardErrorOptions) {
    // ProxyError narrows codes to the core's catalog; ours extend it (documented in docs/errors.md).
    super(code as unknown as ProxyErrorCode, message, options)
  }
}
