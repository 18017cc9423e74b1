// Redis (RESP) front-end options (`startBroker({ resp })`, `--resp-port`, YAML `resp:`): one
// DEFAULTS table with units, resolved and checked once.
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { intOption, knownKeysOnly } from '../../internal/option-check.js'

export interface RespOptions {
  /** RESP over TCP; 0 picks a free port. */
  port: number
  /** Defaults to the broker's host. */
  host?: string
  /** Largest argument other than a PUBLISH payload (Redis proto-max-bulk-len); payloads are capped by max_payload. */
  maxBulkBytes?: number
  /** Most arguments in one request (Redis: 1048576). */
  maxArgs?: number
}

export const RESP_DEFAULTS = {
  maxBulkBytes: 1024 * 1024, // 1 MiB: channel names and other arguments (Redis allows 512 MiB)
  maxArgs: 1024 * 1024, // as Redis's multibulk limit
  maxInlineBytes: 64 * 1024, // Redis PROTO_INLINE_MAX_SIZE: inline lines and length lines
} as const

export interface ResolvedRespOptions {
  port: number
  host: string | undefined
  maxBulkBytes: number
  maxArgs: number
}

function bad(message: string): never {
  throw new BrokerError(BrokerErrorCodes.OPTIONS, message)
}
const int = (name: string, value: unknown, min: number, max: number): number => intOption(bad, `resp.${name}`, value, min, max)

export function resolveRespOptions(o: RespOptions): ResolvedRespOptions {
  const known = new Set(['port', 'host', 'maxBulkBytes', 'maxArgs'])
  knownKeysOnly(bad, 'resp', o, known)
  return {
    port: int('port', o.port, 0, 65535),
    host: o.host,
    maxBulkBytes: int('maxBulkBytes', o.maxBulkBytes ?? RESP_DEFAULTS.maxBulkBytes, 1, 512 * 1024 * 1024),
    maxArgs: int('maxArgs', o.maxArgs ?? RESP_DEFAULTS.maxArgs, 1, 1024 * 1024 * 1024),
  }
}
