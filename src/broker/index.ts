// Public API of switchyard/broker.
export { startBroker, Broker, type BrokerStats } from './server.js'
export { MsgHeaders } from './headers.js'
export { BrokerError, BrokerErrorCodes, type BrokerErrorCode } from './errors.js'
export { DEFAULTS, resolveOptions, type BrokerOptions, type BrokerUser, type UserPermissions, type SubjectPermission, type TlsOptions, type WebSocketOptions } from './options.js'
export { isValidSubject, isValidLiteralSubject, subjectMatches } from './subject.js'
export type { EmbeddedBroker, BrokerMsg, MsgHeadersLike, PublishOptions, SubscribeOptions, Subscription, MsgHandler } from './types.js'
export { brokerConfigSchema, loadBrokerConfig, parseBrokerConfig, configToOptions, parseSize, parseDurationMs, type BrokerConfig } from './config.js'
export { JETSTREAM_DEFAULTS, JetStreamError, JetStreamErrorCodes, type JetStreamOptions, type JetStreamErrorCode, type JetStreamHandle, type JszInfo, type StreamConfig, type ConsumerConfig } from './streams/index.js'
