// Base error class for every Switchyard subsystem: a stable `code` that callers and tests compare,
// a `name`, and the original failure passed on as `cause`.

export interface SwitchyardErrorOptions {
  cause?: unknown
}

export class SwitchyardError extends Error {
  /** Stable, documented identifier (see docs/errors.md). Never changes between releases. */
  readonly code: string

  constructor(code: string, message: string, options?: SwitchyardErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.name = new.target.name
  }
}

/** Codes raised by the shared plumbing in src/internal and by the CLI. */
export const InternalErrorCodes = {
  CONFIG_READ: 'ERR_CONFIG_READ',
  CONFIG_SYNTAX: 'ERR_CONFIG_SYNTAX',
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  ADMIN_ROUTE_EXISTS: 'ERR_ADMIN_ROUTE_EXISTS',
  ADMIN_INSECURE: 'ERR_ADMIN_INSECURE',
  ADMIN_FORBIDDEN: 'ERR_ADMIN_FORBIDDEN',
  ADMIN_UNAUTHORIZED: 'ERR_ADMIN_UNAUTHORIZED',
  CLI_USAGE: 'ERR_CLI_USAGE',
  CLI_UNKNOWN_COMMAND: 'ERR_CLI_UNKNOWN_COMMAND',
  BENCH_PEER_MISSING: 'ERR_BENCH_PEER_MISSING',
} as const

export type InternalErrorCode = (typeof InternalErrorCodes)[keyof typeof InternalErrorCodes]

/** A config file could not be read, parsed, or did not match its schema. */
export class ConfigError extends SwitchyardError {
  /** Each problem as `file:line:col path: message`. */
  readonly problems: readonly string[]

  constructor(code: InternalErrorCode, problems: readonly string[], options?: SwitchyardErrorOptions) {
    super(code, problems.join('\n'), options)
    this.problems = Object.freeze([...problems])
  }
}

/** Wrong command-line usage: unknown flag, missing argument, bad value. */
export class UsageError extends SwitchyardError {
  constructor(message: string, code: InternalErrorCode = InternalErrorCodes.CLI_USAGE) {
    super(code, message)
  }
}
