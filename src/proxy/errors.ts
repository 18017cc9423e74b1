// Proxy error catalog: one ProxyError base with stable codes (documented in docs/errors.md).
import { SwitchyardError, type SwitchyardErrorOptions } from '../internal/errors.js'

export const ProxyErrorCodes = {
  NO_ROUTE: 'ERR_PROXY_NO_ROUTE',
  NO_HEALTHY_SERVER: 'ERR_PROXY_NO_HEALTHY_SERVER',
  CIRCUIT_OPEN: 'ERR_PROXY_CIRCUIT_OPEN',
  UPSTREAM_CONNECT: 'ERR_PROXY_UPSTREAM_CONNECT',
  UPSTREAM_TIMEOUT: 'ERR_PROXY_UPSTREAM_TIMEOUT',
  UPSTREAM_RESET: 'ERR_PROXY_UPSTREAM_RESET',
  UPSTREAM_PROTOCOL: 'ERR_PROXY_UPSTREAM_PROTOCOL',
  CLIENT_ABORTED: 'ERR_PROXY_CLIENT_ABORTED',
  CONFIG: 'ERR_PROXY_CONFIG',
  TLS_CERT: 'ERR_PROXY_TLS_CERT',
  LISTEN: 'ERR_PROXY_LISTEN',
  RELOAD_FAILED: 'ERR_PROXY_RELOAD_FAILED',
  ADMIN_UNKNOWN_SERVER: 'ERR_PROXY_ADMIN_UNKNOWN_SERVER',
  HOOK_FAILED: 'ERR_PROXY_HOOK_FAILED',
  HTTP_VERSION: 'ERR_PROXY_HTTP_VERSION',
  INTERNAL: 'ERR_PROXY_INTERNAL',
  BAD_HOST: 'ERR_PROXY_BAD_HOST',
  BAD_REQUEST: 'ERR_PROXY_BAD_REQUEST',
  METHOD_NOT_ALLOWED: 'ERR_PROXY_METHOD_NOT_ALLOWED',
  UPGRADE_REFUSED: 'ERR_PROXY_UPGRADE_REFUSED',
  UPSTREAM_STATUS: 'ERR_PROXY_UPSTREAM_STATUS',
  /** The access-log file cannot be opened (start or reload fails), or a write to it failed (logged). */
  ACCESS_LOG: 'ERR_PROXY_ACCESS_LOG',
} as const

export type ProxyErrorCode = (typeof ProxyErrorCodes)[keyof typeof ProxyErrorCodes]

/** The proxy's errors; the code type is the core's catalog, or a module's own (see ProtectError). */
export class ProxyError<C extends string = ProxyErrorCode> extends SwitchyardError {
  declare readonly code: C

  constructor(code: C, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}
