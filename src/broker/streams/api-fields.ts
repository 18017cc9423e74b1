// JSON type checks of JetStream API request bodies, as strict as nats-server's Go structs: a field
// declared as an integer must be an integer (1.5, "3", 1e30 are refused), unsigned ones are >= 0,
// strings are strings. Sequences and counts are JS numbers, so integers are capped at 2^53 - 1
// (nats-server takes up to 2^63 - 1): anything larger would lose precision and corrupt a stream.

/**
 * - `int`: a safe integer (Go int/int64; durations in ns too)
 * - `uint`: a safe integer >= 0 (Go uint64: sequences, keep)
 * - `string`, `bool`, `object`: that JSON type
 * - `strings`, `ints`: an array of that type
 */
export type FieldKind = 'int' | 'uint' | 'string' | 'bool' | 'object' | 'strings' | 'ints'
export type FieldSchema = Readonly<Record<string, FieldKind>>

function fits(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'int':
      return Number.isSafeInteger(v)
    case 'uint':
      return Number.isSafeInteger(v) && (v as number) >= 0
    case 'string':
      return typeof v === 'string'
    case 'bool':
      return typeof v === 'boolean'
    case 'object':
      return typeof v === 'object' && !Array.isArray(v)
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
    case 'ints':
      return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x))
  }
}

/** The first field of `body` whose value does not fit `schema`, undefined when all fit. null is
 *  accepted for any field (Go leaves the zero value); keys not in the schema are ignored (as Go does). */
export function badField(body: Record<string, unknown>, schema: FieldSchema): string | undefined {
  for (const key of Object.keys(schema)) {
    const v = body[key]
    if (v === undefined || v === null) continue
    if (!fits(schema[key] as FieldKind, v)) return key
  }
  return undefined
}

export const StreamConfigFields: FieldSchema = {
  name: 'string',
  description: 'string',
  subjects: 'strings',
  retention: 'string',
  max_consumers: 'int',
  max_msgs: 'int',
  max_bytes: 'int',
  max_age: 'int',
  max_msgs_per_subject: 'int',
  max_msg_size: 'int',
  discard: 'string',
  storage: 'string',
  num_replicas: 'int',
  duplicate_window: 'int',
  sealed: 'bool',
  deny_delete: 'bool',
  deny_purge: 'bool',
  allow_rollup_hdrs: 'bool',
  allow_direct: 'bool',
  mirror_direct: 'bool',
  no_ack: 'bool',
}

export const ConsumerRequestFields: FieldSchema = { stream_name: 'string', config: 'object' }

export const ConsumerConfigFields: FieldSchema = {
  name: 'string',
  durable_name: 'string',
  description: 'string',
  deliver_policy: 'string',
  opt_start_seq: 'uint',
  opt_start_time: 'string',
  ack_policy: 'string',
  ack_wait: 'int',
  max_deliver: 'int',
  backoff: 'ints',
  filter_subject: 'string',
  replay_policy: 'string',
  rate_limit_bps: 'uint',
  sample_freq: 'string',
  max_waiting: 'int',
  max_ack_pending: 'int',
  deliver_subject: 'string',
  deliver_group: 'string',
  flow_control: 'bool',
  idle_heartbeat: 'int',
  headers_only: 'bool',
  max_batch: 'int',
  max_expires: 'int',
  max_bytes: 'int',
  inactive_threshold: 'int',
  num_replicas: 'int',
  mem_storage: 'bool',
  dead_letter_subject: 'string',
}

export const PurgeFields: FieldSchema = { filter: 'string', seq: 'uint', keep: 'uint' }
export const MsgGetFields: FieldSchema = { seq: 'uint', last_by_subj: 'string', next_by_subj: 'string' }
export const MsgDeleteFields: FieldSchema = { seq: 'uint', no_erase: 'bool' }
export const ListFields: FieldSchema = { offset: 'int', subject: 'string' }
export const StreamInfoFields: FieldSchema = { subjects_filter: 'string', deleted_details: 'bool', offset: 'int' }
export const PullFields: FieldSchema = { batch: 'int', expires: 'int', no_wait: 'bool', max_bytes: 'int', idle_heartbeat: 'int' }
