// Defaults and validation for cluster mode: one table with units, one resolve function per role,
// results frozen. The CLI maps flags and environment to these; the library never reads env.
import { deepFreeze, type DeepReadonly } from '../../internal/freeze.js'
import { ClusterError, ClusterErrorCodes } from './errors.js'
import { intOption } from '../../internal/option-check.js'

export const CLUSTER_DEFAULTS = {
  /** Shared secret every socket must prove; '' is refused unless `insecure` is set. */
  secret: '',
  /** Allows an empty or short secret (loopback experiments only). */
  insecure: false,
  /** Shortest secret accepted without `insecure` (bytes of UTF-8): 16 random bytes, or 32 hex digits for comfort. */
  minSecretBytes: 16,
  host: '127.0.0.1',
  port: 7077,
  /** Largest frame after authentication (bytes). */
  maxFrameBytes: 64 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  /** How often workers send a heartbeat. */
  heartbeatIntervalMs: 1_000,
  /** A worker silent for this long is declared dead and its work rescheduled. */
  heartbeatTimeoutMs: 6_000,
  /** Chunk size for shuffle block transfer (bytes). */
  blockChunkBytes: 256 * 1024,
  /** Request timeout for control requests (module fetch, block fetch open) in ms. */
  requestTimeoutMs: 30_000,
} as const

export interface CommonClusterOptions {
  secret?: string
  insecure?: boolean
  maxFrameBytes?: number
  handshakeTimeoutMs?: number
  heartbeatIntervalMs?: number
  heartbeatTimeoutMs?: number
  requestTimeoutMs?: number
  blockChunkBytes?: number
}

function bad(message: string): never {
  throw new ClusterError(ClusterErrorCodes.OPTIONS, message)
}
const positiveInt = (name: string, v: unknown): number => intOption(bad, name, v, 1)

export interface ResolvedCommon {
  secret: string
  maxFrameBytes: number
  handshakeTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  requestTimeoutMs: number
  blockChunkBytes: number
}

export function resolveCommon(o: CommonClusterOptions): ResolvedCommon {
  const secret = o.secret ?? CLUSTER_DEFAULTS.secret
  const insecure = o.insecure ?? CLUSTER_DEFAULTS.insecure
  if (secret === '' && !insecure) {
    throw new ClusterError(ClusterErrorCodes.OPTIONS, 'Invalid option secret: a shared secret is required (set secret, or insecure: true for loopback experiments)')
  }
  const bytes = Buffer.byteLength(secret, 'utf8')
  if (secret !== '' && bytes < CLUSTER_DEFAULTS.minSecretBytes && !insecure) {
    // Anyone who guesses the secret runs code on every worker: a short one is refused, not warned about.
    throw new ClusterError(
      ClusterErrorCodes.WEAK_SECRET,
      `Invalid option secret: ${bytes} bytes is too short, use at least ${CLUSTER_DEFAULTS.minSecretBytes} (for example: openssl rand -hex 32)`,
    )
  }
  const r: ResolvedCommon = {
    secret,
    maxFrameBytes: positiveInt('maxFrameBytes', o.maxFrameBytes ?? CLUSTER_DEFAULTS.maxFrameBytes),
    handshakeTimeoutMs: positiveInt('handshakeTimeoutMs', o.handshakeTimeoutMs ?? CLUSTER_DEFAULTS.handshakeTimeoutMs),
    heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs ?? CLUSTER_DEFAULTS.heartbeatIntervalMs),
    heartbeatTimeoutMs: positiveInt('heartbeatTimeoutMs', o.heartbeatTimeoutMs ?? CLUSTER_DEFAULTS.heartbeatTimeoutMs),
    requestTimeoutMs: positiveInt('requestTimeoutMs', o.requestTimeoutMs ?? CLUSTER_DEFAULTS.requestTimeoutMs),
    blockChunkBytes: positiveInt('blockChunkBytes', o.blockChunkBytes ?? CLUSTER_DEFAULTS.blockChunkBytes),
  }
  if (r.heartbeatTimeoutMs <= r.heartbeatIntervalMs) {
    throw new ClusterError(ClusterErrorCodes.OPTIONS, `Invalid option heartbeatTimeoutMs: ${r.heartbeatTimeoutMs} must exceed heartbeatIntervalMs ${r.heartbeatIntervalMs}`)
  }
  return r
}

export function freeze<T>(v: T): DeepReadonly<T> {
  return deepFreeze(v)
}
