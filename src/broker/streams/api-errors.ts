// JetStream API errors as nats-server sends them: HTTP-like code, numeric err_code, description.
// The nats clients match on these (e.g. "stream not found", 10059).

export interface ApiError {
  code: number
  err_code: number
  description: string
}

const e = (code: number, err_code: number, description: string): ApiError => ({ code, err_code, description })

export const ApiErrors = {
  badRequest: () => e(400, 10003, 'bad request'),
  /** A field of the wrong JSON type or out of range (nats-server: Go's json.Unmarshal failed). */
  invalidJson: () => e(400, 10025, 'invalid JSON'),
  replicasNegative: () => e(400, 10133, 'replicas count cannot be negative'),
  maxWaitingNegative: () => e(400, 10087, 'consumer max waiting needs to be positive'),
  streamNotFound: () => e(404, 10059, 'stream not found'),
  consumerNotFound: () => e(404, 10014, 'consumer not found'),
  noMessageFound: () => e(404, 10037, 'no message found'),
  streamNameExists: () => e(400, 10058, 'stream name already in use with a different configuration'),
  streamSubjectOverlap: () => e(400, 10065, 'subjects overlap with an existing stream'),
  streamInvalidConfig: (why: string) => e(400, 10052, why),
  streamNameMismatch: () => e(400, 10056, 'stream name in subject does not match request'),
  streamWrongLastSeq: (seq: number) => e(400, 10071, `wrong last sequence: ${seq}`),
  streamWrongLastMsgId: (id: string) => e(400, 10070, `wrong last msg ID: ${id}`),
  streamNotMatch: () => e(400, 10060, 'expected stream does not match'),
  msgTooBig: () => e(400, 10054, 'message size exceeds maximum allowed'),
  storeFailed: (why: string) => e(503, 10077, why),
  consumerNameExists: () => e(400, 10013, 'consumer name already in use'),
  consumerNameTooLong: (max: number) => e(400, 10102, `consumer name is too long, maximum allowed is ${max}`),
  consumerCreate: (why: string) => e(400, 10012, why),
  consumerDurableNameMismatch: () => e(400, 10132, 'Consumer Durable and Name have to be equal if both are provided'),
  wqRequiresExplicitAck: () => e(400, 10098, 'workqueue stream requires explicit ack'),
  wqMultipleUnfiltered: () => e(400, 10099, 'multiple non-filtered consumers not allowed on workqueue stream'),
  wqNotUnique: () => e(400, 10100, 'filtered consumer not unique on workqueue stream'),
  consumerBackoff: () => e(400, 10116, 'max deliver is required to be > length of backoff values'),
  filterNotSubset: () => e(400, 10093, 'consumer filter subject is not a valid subset of the interest subjects'),
  /** Switchyard extension (dead_letter_subject): the requesting user may not publish there. */
  deadLetterNotPermitted: () => e(403, 10012, "consumer dead letter subject is not allowed by the creator's publish permissions"),
  deliverToWildcards: () => e(400, 10079, 'consumer deliver subject has wildcards'),
  pushMaxWaiting: () => e(400, 10080, 'consumer in push mode can not set max waiting'),
  consumerExistsActive: () => e(400, 10105, 'consumer already exists and is still active'),
  purgeFailed: (why: string) => e(500, 10110, why),
  internal: (why: string) => e(500, 10011, why),
  /** nats-server's text for a consumer whose store cannot be created; never a file path. */
  consumerStore: () => e(500, 10012, 'error creating store for consumer'),
} as const
