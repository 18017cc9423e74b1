// Error codes of MapReduce cluster mode: transport, authentication, membership, module shipping
// and remote shuffle. ClusterError is a JobError (the subsystem's base) with its own stable codes,
// listed in docs/errors.md under "MapReduce cluster mode".
import type { SwitchyardErrorOptions } from '../../internal/errors.js'
import { JobError } from '../errors.js'

export const ClusterErrorCodes = {
  FRAME_TOO_LARGE: 'ERR_CLUSTER_FRAME_TOO_LARGE',
  FRAME_CHECKSUM: 'ERR_CLUSTER_FRAME_CHECKSUM',
  FRAME_AUTH: 'ERR_CLUSTER_FRAME_AUTH',
  PROTOCOL: 'ERR_CLUSTER_PROTOCOL',
  AUTH_FAILED: 'ERR_CLUSTER_AUTH_FAILED',
  HANDSHAKE_TIMEOUT: 'ERR_CLUSTER_HANDSHAKE_TIMEOUT',
  CONNECTION_CLOSED: 'ERR_CLUSTER_CONNECTION_CLOSED',
  REQUEST_TIMEOUT: 'ERR_CLUSTER_REQUEST_TIMEOUT',
  REMOTE: 'ERR_CLUSTER_REMOTE',
  MODULE_NOT_FOUND: 'ERR_CLUSTER_MODULE_NOT_FOUND',
  MODULE_DIGEST: 'ERR_CLUSTER_MODULE_DIGEST',
  FETCH_FAILED: 'ERR_CLUSTER_FETCH_FAILED',
  WORKER_LOST: 'ERR_CLUSTER_WORKER_LOST',
  NO_WORKERS: 'ERR_CLUSTER_NO_WORKERS',
  COORDINATOR_LOST: 'ERR_CLUSTER_COORDINATOR_LOST',
  BAD_MASTER_URL: 'ERR_CLUSTER_BAD_MASTER_URL',
  OPTIONS: 'ERR_CLUSTER_OPTIONS',
  WEAK_SECRET: 'ERR_CLUSTER_WEAK_SECRET',
  BAD_SCOPE: 'ERR_CLUSTER_BAD_SCOPE',
} as const

export type ClusterErrorCode = (typeof ClusterErrorCodes)[keyof typeof ClusterErrorCodes]

export class ClusterError extends JobError<ClusterErrorCode> {
  constructor(code: ClusterErrorCode, message: string, options?: SwitchyardErrorOptions) {
    super(code, message, options)
  }
}

/** The stable code of an error for log lines (`ERR_CLUSTER_FRAME_AUTH`, ...), or undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}
