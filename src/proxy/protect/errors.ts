// Error codes for the proxy's protection layer (limits, request validation, IP lists). The base
// class becomes the core's ProxyError once src/proxy/errors.ts lands; until then it extends
// SwitchyardError directly so codes and names stay stable either way.
import { SwitchyardError, type SwitchyardErrorOptions } from '../../internal/errors.js'

export const ProtectErrorCodes = {
  /** A CIDR string in an allow/deny list or region table cannot be parsed. */
  BAD_CIDR: 'ERR_PROXY_BAD_CIDR',
  /** The shared rate-limit store (Redis) failed and the policy is fail-closed. */
  RATE_STORE_DOWN: 'ERR_PROXY_RATE_STORE_DOWN',
  /** A limits option is out of range. */
  LIMITS_INVALID: 'ERR_PROXY_LIMITS_INVALID',
} as const

export type ProtectErrorCode = (typeof ProtectErrorCodes)[keyof typeof ProtectErrorCodes]

export class ProtectError extends SwitchyardError {
  constructor(code: ProtectErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
