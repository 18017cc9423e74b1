// JetStream options: one DEFAULTS table (units in the names) and resolveJetStreamOptions(), which
// validates once and freezes.
import { deepFreeze, type DeepReadonly } from '../../internal/freeze.js'
import type { Logger } from '../../internal/logger.js'
import type { Registry } from '../../internal/metrics.js'
import { JetStreamError, JetStreamErrorCodes } from './errors.js'
import type { SyncPolicyValue } from './msg-store.js'
import type { StorageIO } from './storage-io.js'

export const JETSTREAM_DEFAULTS = {
  /** Directory for file-backed streams; undefined allows only memory storage. */
  storeDir: undefined as string | undefined,
  /** 'always': a publish is acknowledged after its batch is fsynced (group commit). 'interval': after the write; fsync every syncIntervalMs. */
  sync: 'always' as SyncPolicyValue,
  syncIntervalMs: 1_000,
  /** A segment file rolls over after this many bytes. */
  segmentBytes: 16 * 1024 * 1024,
  /** Payload bytes per stream kept in memory after being written. */
  cacheBytes: 32 * 1024 * 1024,
  /** How often dirty consumer state (delivered, ack floor, pending) is written. */
  consumerFlushMs: 100,
  /** Timer granularity for ack wait, pull expiry, heartbeats. */
  tickMs: 50,
  /** Default duplicate window for streams that do not set one. */
  duplicateWindowMs: 120_000,
  /** Default max_ack_pending for consumers that do not set one. */
  maxAckPending: 1_000,
  /** Default max_waiting (queued pull requests) per pull consumer. */
  maxWaiting: 512,
  /** Ephemeral consumers without interest for this long are deleted. */
  ephemeralInactiveMs: 5_000,
  /** Server name reported in cluster.leader and advisories. */
  serverName: 'switchyard',
} as const

export interface JetStreamOptions {
  storeDir?: string
  sync?: SyncPolicyValue
  syncIntervalMs?: number
  segmentBytes?: number
  cacheBytes?: number
  consumerFlushMs?: number
  tickMs?: number
  duplicateWindowMs?: number
  maxAckPending?: number
  maxWaiting?: number
  ephemeralInactiveMs?: number
  serverName?: string
  /**
   * JetStream domain of this node. `$JS.<domain>.API.>` reaches this node's JetStream from any
   * node of the cluster (nats.js: `jetstream({ domain })`); `$JS.API.>` always stays local.
   */
  domain?: string
  /** File access for the store; default the real file system. Tests pass a FaultStorageIO. */
  io?: StorageIO
  logger?: Logger
  /** Where stream/consumer metrics are registered. */
  registry?: Registry
}

export type ResolvedJetStreamOptions = DeepReadonly<Omit<JetStreamOptions, 'io' | 'logger' | 'registry'> & Omit<typeof JETSTREAM_DEFAULTS, 'storeDir'>> & {
  io: StorageIO | undefined
  logger: Logger | undefined
  registry: Registry | undefined
}

export function resolveJetStreamOptions(options: JetStreamOptions = {}): ResolvedJetStreamOptions {
  const { io, logger, registry, ...rest } = options
  const merged = { ...JETSTREAM_DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) }
  if (merged.sync !== 'always' && merged.sync !== 'interval') {
    throw new JetStreamError(JetStreamErrorCodes.OPTIONS, `Cannot use sync policy ${JSON.stringify(merged.sync)}: use "always" or "interval"`)
  }
  for (const key of ['syncIntervalMs', 'segmentBytes', 'cacheBytes', 'consumerFlushMs', 'tickMs', 'duplicateWindowMs', 'maxAckPending', 'maxWaiting', 'ephemeralInactiveMs'] as const) {
    const v = merged[key]
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new JetStreamError(JetStreamErrorCodes.OPTIONS, `Cannot use ${key} ${JSON.stringify(v)}: it must be a positive number`)
    }
  }
  const domain = (merged as { domain?: unknown }).domain
  if (domain !== undefined && (typeof domain !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(domain))) {
    throw new JetStreamError(JetStreamErrorCodes.OPTIONS, `Cannot use domain ${JSON.stringify(domain)}: 1 to 64 letters, digits, "_" or "-" (it becomes one subject token of $JS.<domain>.API)`)
  }
  const frozen = deepFreeze(merged)
  return Object.freeze({ ...frozen, io, logger, registry }) as ResolvedJetStreamOptions
}
