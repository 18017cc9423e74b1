// Public API of the JetStream layer (durable streams on top of the embedded broker).
export { attachJetStream, type JetStreamHandle, type JszInfo } from './jetstream.js'
export { JETSTREAM_DEFAULTS, resolveJetStreamOptions, type JetStreamOptions, type ResolvedJetStreamOptions } from './options.js'
export { JetStreamError, JetStreamErrorCodes, type JetStreamErrorCode } from './errors.js'
export { NodeStorageIO, type StorageIO, type StorageFile } from './storage-io.js'
export { MsgStore, SyncPolicy, type SyncPolicyValue, type StoredMsg } from './msg-store.js'
export type { RecoveryReport } from './segments.js'
export type { StreamConfig, ConsumerConfig } from './config.js'
