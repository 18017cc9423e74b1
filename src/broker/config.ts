// The broker's YAML config file: a strict zod schema with nats-server-like key names, mapped to
// BrokerOptions. Sizes accept numbers or "64MB"/"1MiB"; durations numbers (ms) or "2m"/"500ms".
import { dirname, resolve } from 'node:path'
import { z } from 'zod'
import { loadConfigFile, parseConfig } from '../internal/config.js'
import type { DeepReadonly } from '../internal/freeze.js'
import type { BrokerOptions, BrokerUser, SubjectPermission } from './options.js'

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, mb: 1_000_000, gb: 1_000_000_000, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 }
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "64MB" → 64000000, "1MiB" → 1048576; numbers are bytes. Returns NaN when malformed. */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value)
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase()]
  return m === null || unit === undefined ? Number.NaN : Math.round(Number(m[1]) * unit)
}

/** "2m" → 120000; numbers are milliseconds. Returns NaN when malformed. */
export function parseDurationMs(value: number | string): number {
  if (typeof value === 'number') return value
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value)
  return m === null ? Number.NaN : Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number))
}

const size = z.union([z.number().int().nonnegative(), z.string()]).refine((v) => Number.isFinite(parseSize(v)), { message: 'expected a size such as 1048576, "64MB" or "1MiB"' })
const duration = z.union([z.number().int().nonnegative(), z.string()]).refine((v) => Number.isFinite(parseDurationMs(v)), { message: 'expected a duration such as 500 (ms), "10s" or "2m"' })
const subjects = z.array(z.string().min(1))
/** `publish: ["a.>"]` is shorthand for `publish: { allow: ["a.>"] }`, as in nats-server. */
const permission = z.union([subjects, z.strictObject({ allow: subjects.optional(), deny: subjects.optional() })])
const tls = z.strictObject({
  cert_file: z.string(),
  key_file: z.string(),
  ca_file: z.string().optional(),
  verify: z.boolean().optional(),
})

export const brokerConfigSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  monitor_port: z.union([z.number().int().min(0).max(65535), z.literal(false)]).optional(),
  monitor_host: z.string().optional(),
  server_name: z.string().optional(),
  max_payload: size.optional(),
  max_control_line: size.optional(),
  max_pending: size.optional(),
  write_deadline: duration.optional(),
  ping_interval: duration.optional(),
  ping_max: z.number().int().min(1).optional(),
  auth_timeout: duration.optional(),
  max_connections: z.number().int().min(1).optional(),
  max_subscriptions: z.number().int().min(0).optional(),
  drop_subjects: subjects.optional(),
  /** MQTT clients (docs/broker.md, "MQTT clients"). */
  mqtt: z
    .strictObject({
      port: z.number().int().min(0).max(65535),
      host: z.string().optional(),
      websocket: z.strictObject({ port: z.number().int().min(0).max(65535), host: z.string().optional() }).optional(),
      max_inflight: z.number().int().min(1).max(65535).optional(),
      max_queued_messages: z.number().int().min(0).optional(),
    })
    .optional(),
  /** Redis pub/sub clients (docs/broker.md, "Redis clients"). */
  resp: z
    .strictObject({
      port: z.number().int().min(0).max(65535),
      host: z.string().optional(),
      max_bulk: size.optional(),
      max_args: z.number().int().min(1).optional(),
    })
    .optional(),
  authorization: z
    .strictObject({
      token: z.string().min(1).optional(),
      users: z
        .array(
          z.strictObject({
            user: z.string().min(1),
            password: z.string(),
            permissions: z.strictObject({ publish: permission.optional(), subscribe: permission.optional() }).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  tls: tls.optional(),
  websocket: z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535), tls: tls.optional() }).optional(),
  /** Routes to other nodes (docs/broker.md, "Running a cluster"). */
  cluster: z
    .strictObject({
      name: z.string().min(1),
      host: z.string().optional(),
      port: z.number().int().min(0).max(65535),
      routes: z.array(z.string().min(1)).optional(),
      authorization: z.union([z.strictObject({ user: z.string().min(1), password: z.string() }), z.strictObject({ token: z.string().min(1) })]).optional(),
      tls: tls.extend({ timeout: duration.optional() }).optional(),
    })
    .optional(),
  /** Leafnodes (docs/broker.md, "Leafnodes"). TLS, accounts and credentials files are not supported: refused. */
  leafnodes: z
    .strictObject({
      host: z.string().optional(),
      port: z.number().int().min(0).max(65535).optional(),
      authorization: z.union([z.strictObject({ user: z.string().min(1), password: z.string() }), z.strictObject({ token: z.string().min(1) })]).optional(),
      remotes: z.array(z.strictObject({ url: z.string().min(1).optional(), urls: z.array(z.string().min(1)).min(1).optional() })).optional(),
    })
    .optional(),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).optional(),
  /** Durable streams (docs/streams.md); mapped by the CLI to startBroker({ jetstream }). */
  jetstream: z
    .strictObject({
      enabled: z.boolean().optional(),
      store_dir: z.string().optional(),
      sync: z.enum(['always', 'interval']).optional(),
      sync_interval: duration.optional(),
      /** `$JS.<domain>.API` reaches this node's streams from every node of a cluster. */
      domain: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    })
    .optional(),
})

export type BrokerConfig = z.output<typeof brokerConfigSchema>

export interface LoadedBrokerConfig {
  config: DeepReadonly<BrokerConfig>
  /** Directory that relative file paths (certificates) are resolved against. */
  baseDir: string
}

export function loadBrokerConfig(file: string): LoadedBrokerConfig {
  return { config: loadConfigFile(file, brokerConfigSchema), baseDir: dirname(resolve(file)) }
}

export function parseBrokerConfig(text: string, fileName = 'broker.yaml'): DeepReadonly<BrokerConfig> {
  return parseConfig(text, brokerConfigSchema, fileName)
}

function perm(p: DeepReadonly<z.output<typeof permission>> | undefined): SubjectPermission | undefined {
  if (p === undefined) return undefined
  if (Array.isArray(p)) return { allow: [...(p as readonly string[])] }
  const o = p as { allow?: readonly string[]; deny?: readonly string[] }
  const out: SubjectPermission = {}
  if (o.allow !== undefined) out.allow = [...o.allow]
  if (o.deny !== undefined) out.deny = [...o.deny]
  return out
}

/**
 * Maps a validated config to BrokerOptions. `readFile` loads certificate files (relative paths
 * against `baseDir`); it is injected so this module does no I/O of its own.
 */
export function configToOptions(config: DeepReadonly<BrokerConfig>, baseDir: string, readFile: (path: string) => Buffer): BrokerOptions {
  const o: BrokerOptions = {}
  const file = (p: string): Buffer => readFile(resolve(baseDir, p))
  if (config.host !== undefined) o.host = config.host
  if (config.port !== undefined) o.port = config.port
  if (config.monitor_port !== undefined) o.monitorPort = config.monitor_port
  if (config.monitor_host !== undefined) o.monitorHost = config.monitor_host
  if (config.server_name !== undefined) o.serverName = config.server_name
  if (config.max_payload !== undefined) o.maxPayloadBytes = parseSize(config.max_payload)
  if (config.max_control_line !== undefined) o.maxControlLineBytes = parseSize(config.max_control_line)
  if (config.max_pending !== undefined) o.maxPendingBytes = parseSize(config.max_pending)
  if (config.write_deadline !== undefined) o.writeDeadlineMs = parseDurationMs(config.write_deadline)
  if (config.ping_interval !== undefined) o.pingIntervalMs = parseDurationMs(config.ping_interval)
  if (config.ping_max !== undefined) o.maxPingsOut = config.ping_max
  if (config.auth_timeout !== undefined) o.authTimeoutMs = parseDurationMs(config.auth_timeout)
  if (config.max_connections !== undefined) o.maxConnections = config.max_connections
  if (config.max_subscriptions !== undefined) o.maxSubscriptions = config.max_subscriptions
  if (config.drop_subjects !== undefined) o.dropSubjects = [...config.drop_subjects]
  const mq = config.mqtt
  if (mq !== undefined) {
    o.mqtt = {
      port: mq.port,
      ...(mq.host === undefined ? {} : { host: mq.host }),
      ...(mq.websocket === undefined ? {} : { websocket: { port: mq.websocket.port, ...(mq.websocket.host === undefined ? {} : { host: mq.websocket.host }) } }),
      ...(mq.max_inflight === undefined ? {} : { maxInflight: mq.max_inflight }),
      ...(mq.max_queued_messages === undefined ? {} : { maxQueuedMessages: mq.max_queued_messages }),
    }
  }
  const rs = config.resp
  if (rs !== undefined) {
    o.resp = {
      port: rs.port,
      ...(rs.host === undefined ? {} : { host: rs.host }),
      ...(rs.max_bulk === undefined ? {} : { maxBulkBytes: parseSize(rs.max_bulk) }),
      ...(rs.max_args === undefined ? {} : { maxArgs: rs.max_args }),
    }
  }
  const auth = config.authorization
  if (auth?.token !== undefined) o.token = auth.token
  if (auth?.users !== undefined) {
    o.users = auth.users.map((u) => {
      const user: BrokerUser = { user: u.user, password: u.password }
      const pub = perm(u.permissions?.publish)
      const sub = perm(u.permissions?.subscribe)
      if (pub !== undefined || sub !== undefined) user.permissions = { ...(pub === undefined ? {} : { publish: pub }), ...(sub === undefined ? {} : { subscribe: sub }) }
      return user
    })
  }
  const tlsOf = (t: DeepReadonly<z.output<typeof tls>>) => ({
    cert: file(t.cert_file),
    key: file(t.key_file),
    ...(t.ca_file === undefined ? {} : { ca: file(t.ca_file) }),
    ...(t.verify === undefined ? {} : { verify: t.verify }),
  })
  const cl = config.cluster
  if (cl !== undefined) {
    o.cluster = {
      name: cl.name,
      port: cl.port,
      ...(cl.host === undefined ? {} : { host: cl.host }),
      ...(cl.routes === undefined ? {} : { routes: [...cl.routes] }),
      ...(cl.authorization === undefined ? {} : { authorization: { ...cl.authorization } }),
      ...(cl.tls === undefined ? {} : { tls: { ...tlsOf(cl.tls), ...(cl.tls.timeout === undefined ? {} : { timeoutMs: parseDurationMs(cl.tls.timeout) }) } }),
    }
  }
  const lf = config.leafnodes
  if (lf !== undefined) {
    o.leafnodes = {
      ...(lf.host === undefined ? {} : { host: lf.host }),
      ...(lf.port === undefined ? {} : { port: lf.port }),
      ...(lf.authorization === undefined ? {} : { authorization: { ...lf.authorization } }),
      ...(lf.remotes === undefined ? {} : { remotes: lf.remotes.map((r) => ({ ...(r.url === undefined ? {} : { url: r.url }), ...(r.urls === undefined ? {} : { urls: [...r.urls] }) })) }),
    }
  }
  if (config.tls !== undefined) o.tls = tlsOf(config.tls)
  if (config.websocket !== undefined) {
    o.websocket = { port: config.websocket.port, ...(config.websocket.host === undefined ? {} : { host: config.websocket.host }), ...(config.websocket.tls === undefined ? {} : { tls: tlsOf(config.websocket.tls) }) }
  }
  return o
}
