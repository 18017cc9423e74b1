// Why a leafnode connection was closed: stable codes in the log line (documented in docs/errors.md).
export const LeafCloseCodes = {
  /** Unknown operation, malformed arguments, bad JSON, interest or messages before the handshake. */
  PROTOCOL: 'ERR_BROKER_LEAF_PROTOCOL',
  MAX_CONTROL_LINE: 'ERR_BROKER_LEAF_MAX_CONTROL_LINE',
  MAX_PAYLOAD: 'ERR_BROKER_LEAF_MAX_PAYLOAD',
  AUTH: 'ERR_BROKER_LEAF_AUTH',
  AUTH_TIMEOUT: 'ERR_BROKER_LEAF_AUTH_TIMEOUT',
  /** The peer is a NATS client or a route, not a leafnode (or we dialled a non-leafnode port). */
  WRONG_PORT: 'ERR_BROKER_LEAF_WRONG_PORT',
  /** Our own loop-detection subject came back: this leaf connection closes a loop. */
  LOOP: 'ERR_BROKER_LEAF_LOOP',
  /** A newer connection from the same server replaced this one (it re-dialled before we saw it go). */
  REPLACED: 'ERR_BROKER_LEAF_REPLACED',
  STALE: 'ERR_BROKER_LEAF_STALE',
  SLOW: 'ERR_BROKER_LEAF_SLOW_CONSUMER',
  /** The peer closed the socket, sent -ERR, or the local broker shut down. */
  CLOSED: 'ERR_BROKER_LEAF_CLOSED',
} as const

export type LeafCloseCode = (typeof LeafCloseCodes)[keyof typeof LeafCloseCodes]
