// Stream and consumer configuration as the JetStream API carries it (snake_case, durations in
// nanoseconds), normalised with nats-server's defaults so info replies look like the real thing.
import { ApiErrors, type ApiError } from './api-errors.js'
import { badField, ConsumerConfigFields, StreamConfigFields } from './api-fields.js'
import { hasWildcard, subjectsOverlap, validSubject } from './subjects.js'

export type Retention = 'limits' | 'interest' | 'workqueue'

export interface StreamConfig {
  name: string
  description?: string
  subjects: string[]
  retention: Retention
  max_consumers: number
  max_msgs: number
  max_bytes: number
  /** Nanoseconds; 0 = unlimited. */
  max_age: number
  max_msgs_per_subject: number
  max_msg_size: number
  discard: 'old' | 'new'
  storage: 'file' | 'memory'
  num_replicas: number
  /** Nanoseconds. */
  duplicate_window: number
  sealed: boolean
  deny_delete: boolean
  deny_purge: boolean
  allow_rollup_hdrs: boolean
  allow_direct: boolean
  mirror_direct: boolean
}

export type DeliverPolicy = 'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject'
export type AckPolicy = 'none' | 'all' | 'explicit'

export interface ConsumerConfig {
  name?: string
  durable_name?: string
  description?: string
  deliver_policy: DeliverPolicy
  opt_start_seq?: number
  opt_start_time?: string
  ack_policy: AckPolicy
  /** Nanoseconds. */
  ack_wait: number
  max_deliver: number
  /** Nanoseconds per redelivery attempt. */
  backoff?: number[]
  filter_subject?: string
  replay_policy: 'instant' | 'original'
  max_waiting?: number
  max_ack_pending: number
  deliver_subject?: string
  deliver_group?: string
  flow_control?: boolean
  /** Nanoseconds. */
  idle_heartbeat?: number
  headers_only?: boolean
  max_batch?: number
  max_expires?: number
  max_bytes?: number
  inactive_threshold?: number
  num_replicas: number
  mem_storage?: boolean
  /** Switchyard extension: messages that exceed max_deliver are also published here. */
  dead_letter_subject?: string
}

export const NS_PER_MS = 1_000_000
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d)

/** Longest stream or consumer name in UTF-8 bytes (nats-server's limit; also a file name's). */
export const MAX_NAME_BYTES = 255

/** Characters, not length (see nameTooLong): no `.`, `*`, `>`, whitespace, path separators or control characters. */
export function validName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && !/[.*>\s/\\\x00-\x1f\x7f]/.test(name)
}

export function nameTooLong(name: string): boolean {
  return Buffer.byteLength(name) > MAX_NAME_BYTES
}

export function normalizeStreamConfig(raw: unknown, nameFromSubject: string, defaults: { duplicateWindowMs: number }): StreamConfig | ApiError {
  if (!isObj(raw)) return ApiErrors.badRequest()
  if (badField(raw, StreamConfigFields) !== undefined) return ApiErrors.invalidJson()
  const name = raw['name'] ?? nameFromSubject
  if (name !== nameFromSubject) return ApiErrors.streamNameMismatch()
  if (!validName(name)) return ApiErrors.streamInvalidConfig('invalid stream name')
  if (nameTooLong(name)) return ApiErrors.streamInvalidConfig(`stream name is too long, maximum allowed is ${MAX_NAME_BYTES}`)
  const subjects = Array.isArray(raw['subjects']) && raw['subjects'].length > 0 ? (raw['subjects'] as unknown[]) : [name]
  for (const s of subjects) {
    if (typeof s !== 'string' || !validSubject(s)) return ApiErrors.streamInvalidConfig(`invalid subject ${JSON.stringify(s)}`)
    if (subjectsOverlap(s, '$JS.API.>') || subjectsOverlap(s, '$JS.ACK.>')) return ApiErrors.streamInvalidConfig('subjects overlap with jetstream api')
  }
  for (let i = 0; i < subjects.length; i++) for (let j = i + 1; j < subjects.length; j++) if (subjectsOverlap(subjects[i] as string, subjects[j] as string)) return ApiErrors.streamInvalidConfig('duplicate subjects detected')
  const retention = raw['retention'] ?? 'limits'
  if (retention !== 'limits' && retention !== 'interest' && retention !== 'workqueue') return ApiErrors.streamInvalidConfig('invalid retention')
  const discard = raw['discard'] ?? 'old'
  if (discard !== 'old' && discard !== 'new') return ApiErrors.streamInvalidConfig('invalid discard policy')
  const storage = raw['storage'] ?? 'file'
  if (storage !== 'file' && storage !== 'memory') return ApiErrors.streamInvalidConfig('invalid storage type')
  const dw = num(raw['duplicate_window'], 0)
  const maxAge = num(raw['max_age'], 0)
  if (num(raw['num_replicas'], 0) < 0) return ApiErrors.replicasNegative()
  if (dw < 0) return ApiErrors.streamInvalidConfig('duplicates window can not be negative')
  if (maxAge < 0) return ApiErrors.streamInvalidConfig('max age needs to be >= 0')
  const cfg: StreamConfig = {
    name,
    subjects: subjects as string[],
    retention,
    max_consumers: num(raw['max_consumers'], -1) || -1,
    max_msgs: num(raw['max_msgs'], -1) || -1,
    max_bytes: num(raw['max_bytes'], -1) || -1,
    max_age: maxAge,
    max_msgs_per_subject: num(raw['max_msgs_per_subject'], -1) || -1,
    max_msg_size: num(raw['max_msg_size'], -1) || -1,
    discard,
    storage,
    num_replicas: num(raw['num_replicas'], 1) || 1,
    duplicate_window: dw > 0 ? dw : maxAge > 0 ? Math.min(maxAge, defaults.duplicateWindowMs * NS_PER_MS) : defaults.duplicateWindowMs * NS_PER_MS,
    sealed: raw['sealed'] === true,
    deny_delete: raw['deny_delete'] === true,
    deny_purge: raw['deny_purge'] === true,
    allow_rollup_hdrs: raw['allow_rollup_hdrs'] === true,
    allow_direct: raw['allow_direct'] === true,
    mirror_direct: raw['mirror_direct'] === true,
  }
  if (typeof raw['description'] === 'string' && raw['description'] !== '') cfg.description = raw['description']
  if (cfg.num_replicas > 1) return ApiErrors.streamInvalidConfig('replicas > 1 not supported in non-clustered mode')
  if (cfg.max_age > 0 && cfg.duplicate_window > cfg.max_age) return ApiErrors.streamInvalidConfig('duplicates window can not be larger then max age')
  return cfg
}

export function normalizeConsumerConfig(raw: unknown, defaults: { maxAckPending: number; maxWaiting: number }): ConsumerConfig | ApiError {
  if (!isObj(raw)) return ApiErrors.badRequest()
  if (badField(raw, ConsumerConfigFields) !== undefined) return ApiErrors.invalidJson()
  if (num(raw['max_waiting'], 0) < 0) return ApiErrors.maxWaitingNegative()
  if (num(raw['num_replicas'], 0) < 0) return ApiErrors.replicasNegative()
  const deliverPolicy = (raw['deliver_policy'] ?? 'all') as DeliverPolicy
  if (!['all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'].includes(deliverPolicy)) return ApiErrors.consumerCreate('invalid deliver policy')
  const ackPolicy = (raw['ack_policy'] ?? 'none') as AckPolicy
  if (!['none', 'all', 'explicit'].includes(ackPolicy)) return ApiErrors.consumerCreate('invalid ack policy')
  const push = typeof raw['deliver_subject'] === 'string' && raw['deliver_subject'] !== ''
  const cfg: ConsumerConfig = {
    deliver_policy: deliverPolicy,
    ack_policy: ackPolicy,
    ack_wait: num(raw['ack_wait'], 0) > 0 ? num(raw['ack_wait'], 0) : 30_000 * NS_PER_MS,
    max_deliver: num(raw['max_deliver'], -1) > 0 ? num(raw['max_deliver'], -1) : -1,
    replay_policy: raw['replay_policy'] === 'original' ? 'original' : 'instant',
    max_ack_pending: ackPolicy === 'none' ? -1 : num(raw['max_ack_pending'], 0) > 0 ? num(raw['max_ack_pending'], 0) : defaults.maxAckPending,
    num_replicas: num(raw['num_replicas'], 0),
  }
  for (const k of ['name', 'durable_name', 'description', 'opt_start_time', 'filter_subject', 'deliver_subject', 'deliver_group', 'dead_letter_subject'] as const) {
    const v = raw[k]
    if (typeof v === 'string' && v !== '') cfg[k] = v
  }
  for (const k of ['opt_start_seq', 'idle_heartbeat', 'max_batch', 'max_expires', 'max_bytes', 'inactive_threshold'] as const) {
    const v = raw[k]
    if (typeof v === 'number' && v > 0) cfg[k] = v
  }
  if (raw['flow_control'] === true) cfg.flow_control = true
  if (raw['headers_only'] === true) cfg.headers_only = true
  if (raw['mem_storage'] === true) cfg.mem_storage = true
  if (Array.isArray(raw['backoff']) && raw['backoff'].length > 0) {
    if (!raw['backoff'].every((b) => typeof b === 'number' && b > 0)) return ApiErrors.consumerCreate('invalid backoff')
    cfg.backoff = raw['backoff'] as number[]
    if (cfg.max_deliver !== -1 && cfg.max_deliver <= cfg.backoff.length) return ApiErrors.consumerBackoff()
    if (cfg.max_deliver === -1) return ApiErrors.consumerBackoff()
  }
  if (push) {
    if (raw['max_waiting'] !== undefined && raw['max_waiting'] !== 0) return ApiErrors.pushMaxWaiting()
    if (hasWildcard(cfg.deliver_subject as string)) return ApiErrors.deliverToWildcards()
  } else {
    cfg.max_waiting = num(raw['max_waiting'], 0) > 0 ? num(raw['max_waiting'], 0) : defaults.maxWaiting
    if (cfg.flow_control === true) return ApiErrors.consumerCreate('consumer with flow control also needs heartbeats')
  }
  if (cfg.flow_control === true && cfg.idle_heartbeat === undefined) return ApiErrors.consumerCreate('consumer with flow control also needs heartbeats')
  if (cfg.dead_letter_subject !== undefined && !validSubject(cfg.dead_letter_subject, false)) return ApiErrors.consumerCreate('consumer dead letter subject is not a valid subject without wildcards')
  if (cfg.filter_subject !== undefined && !validSubject(cfg.filter_subject)) return ApiErrors.consumerCreate('consumer filter subject is not a valid subject')
  if (deliverPolicy === 'by_start_sequence' && cfg.opt_start_seq === undefined) return ApiErrors.consumerCreate('consumer deliver policy by_start_sequence requires opt_start_seq')
  if (deliverPolicy === 'by_start_time' && cfg.opt_start_time === undefined) return ApiErrors.consumerCreate('consumer deliver policy by_start_time requires opt_start_time')
  if (deliverPolicy !== 'by_start_sequence' && cfg.opt_start_seq !== undefined) return ApiErrors.consumerCreate('consumer opt_start_seq requires deliver policy by_start_sequence')
  return cfg
}

export function isApiError(v: unknown): v is ApiError {
  return isObj(v) && typeof v['err_code'] === 'number'
}
