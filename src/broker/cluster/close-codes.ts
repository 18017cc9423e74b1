// Why a route connection was closed: stable codes in the log line (documented in docs/errors.md).
export const RouteCloseCodes = {
  /** Unknown operation, malformed arguments, bad JSON, a message before the handshake. */
  PROTOCOL: 'ERR_BROKER_ROUTE_PROTOCOL',
  MAX_CONTROL_LINE: 'ERR_BROKER_ROUTE_MAX_CONTROL_LINE',
  MAX_PAYLOAD: 'ERR_BROKER_ROUTE_MAX_PAYLOAD',
  CLUSTER_NAME: 'ERR_BROKER_ROUTE_CLUSTER_NAME',
  AUTH: 'ERR_BROKER_ROUTE_AUTH',
  AUTH_TIMEOUT: 'ERR_BROKER_ROUTE_AUTH_TIMEOUT',
  DUPLICATE: 'ERR_BROKER_ROUTE_DUPLICATE',
  SELF: 'ERR_BROKER_ROUTE_SELF',
  STALE: 'ERR_BROKER_ROUTE_STALE',
  SLOW: 'ERR_BROKER_ROUTE_SLOW_CONSUMER',
  /** The TLS handshake failed or timed out, or one side requires TLS and the other does not use it. */
  TLS: 'ERR_BROKER_ROUTE_TLS',
  /** The peer closed the socket, sent -ERR, or the local broker shut down. */
  CLOSED: 'ERR_BROKER_ROUTE_CLOSED',
} as const

export type RouteCloseCode = (typeof RouteCloseCodes)[keyof typeof RouteCloseCodes]
