// Broker options: one DEFAULTS table with units, one resolveOptions() that validates and freezes.
import type { Logger } from 'pino'
import { deepFreeze, type DeepReadonly } from '../internal/freeze.js'
import { resolveMqttOptions, type MqttOptions, type ResolvedMqttOptions } from './mqtt/options.js'
import { resolveRespOptions, type RespOptions, type ResolvedRespOptions } from './resp/options.js'
import { BrokerError, BrokerErrorCodes } from './errors.js'
import { intOption } from '../internal/option-check.js'
import { isValidSubject } from './subject.js'
import { resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from './cluster/options.js'
import { resolveLeafnodeOptions, type LeafnodeOptions, type ResolvedLeafnodeOptions } from './cluster/leaf-options.js'

export interface SubjectPermission {
  allow?: string[]
  deny?: string[]
}

export interface UserPermissions {
  publish?: SubjectPermission
  subscribe?: SubjectPermission
}

export interface BrokerUser {
  user: string
  /** Plain text, or a bcrypt hash (`$2a$...`, `$2b$...`). */
  password: string
  permissions?: UserPermissions
}

export interface TlsOptions {
  /** PEM certificate chain (contents, not a path; the CLI reads files). */
  cert: string | Buffer
  key: string | Buffer
  /** CA bundle for verifying client certificates. */
  ca?: string | Buffer
  /** Require and verify client certificates. */
  verify?: boolean
}

export interface WebSocketOptions {
  host?: string
  /** 0 picks a free port. */
  port: number
  /** Serve wss:// with these certificates; plain ws:// when absent. */
  tls?: TlsOptions
}

export interface BrokerOptions {
  host?: string
  /** Client port; 0 picks a free port. */
  port?: number
  /** Monitoring HTTP port (/varz ...); 0 picks a free port; false disables it. */
  monitorPort?: number | false
  monitorHost?: string
  serverName?: string
  /** Version reported in INFO: the nats-server protocol level whose behaviour this broker follows. */
  protocolVersion?: string
  maxPayloadBytes?: number
  maxControlLineBytes?: number
  /** Outbound bytes queued for one connection before it is a slow consumer. */
  maxPendingBytes?: number
  /** A connection whose socket has not drained for this long is a slow consumer. */
  writeDeadlineMs?: number
  pingIntervalMs?: number
  maxPingsOut?: number
  authTimeoutMs?: number
  maxConnections?: number
  /** Subscriptions one connection may hold; 0 = unlimited. */
  maxSubscriptions?: number
  /** Subscriptions to subjects covered by these patterns drop messages instead of disconnecting a slow consumer. */
  dropSubjects?: string[]
  /** MQTT 3.1.1/5.0 clients on the same subjects (docs/broker.md, "MQTT clients"); off when absent. */
  mqtt?: MqttOptions
  /** Redis (RESP2/RESP3) pub/sub clients on the same subjects (docs/broker.md, "Redis clients"); off when absent. */
  resp?: RespOptions
  /** Shared token (CONNECT auth_token). */
  token?: string
  users?: BrokerUser[]
  tls?: TlsOptions
  websocket?: WebSocketOptions
  /** Routes to other Switchyard nodes and nats-servers (docs/broker.md, "Running a cluster"); off when absent. */
  cluster?: ClusterOptions
  /** Leafnode links to hubs and from spokes (docs/broker.md, "Leafnodes"); off when absent. */
  leafnodes?: LeafnodeOptions
  logger?: Logger
}

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 4222,
  monitorPort: 0 as number | false, // embedded default: a free port; the CLI defaults to 8222
  monitorHost: '127.0.0.1',
  serverName: '',
  protocolVersion: '2.9.0',
  maxPayloadBytes: 1024 * 1024, // 1 MiB, as nats-server
  maxControlLineBytes: 4096, // 4 KiB, as nats-server
  maxPendingBytes: 64 * 1024 * 1024, // 64 MiB, as nats-server
  writeDeadlineMs: 10_000, // 10 s, as nats-server 2.9
  pingIntervalMs: 120_000, // 2 min, as nats-server
  maxPingsOut: 2,
  authTimeoutMs: 2_000, // 2 s, as nats-server
  maxConnections: 65_536, // as nats-server
  maxSubscriptions: 0, // per connection; 0 = unlimited, as nats-server
} as const

export interface ResolvedBrokerOptions {
  host: string
  port: number
  monitorPort: number | false
  monitorHost: string
  serverName: string
  protocolVersion: string
  maxPayloadBytes: number
  maxControlLineBytes: number
  maxPendingBytes: number
  writeDeadlineMs: number
  pingIntervalMs: number
  maxPingsOut: number
  authTimeoutMs: number
  maxConnections: number
  maxSubscriptions: number
  dropSubjects: string[]
  mqtt: ResolvedMqttOptions | undefined
  resp: ResolvedRespOptions | undefined
  token: string | undefined
  users: BrokerUser[]
  tls: TlsOptions | undefined
  websocket: WebSocketOptions | undefined
  cluster: ResolvedClusterOptions | undefined
  leafnodes: ResolvedLeafnodeOptions | undefined
  logger: Logger | undefined
}

function bad(message: string): never {
  throw new BrokerError(BrokerErrorCodes.OPTIONS, message)
}

const int = (name: string, value: unknown, min: number, max?: number): number => intOption(bad, name, value, min, max)

function checkPatterns(where: string, list: string[] | undefined): void {
  for (const s of list ?? []) if (!isValidSubject(s)) bad(`Cannot use ${where} subject ${JSON.stringify(s)}: not a valid subject`)
}

/** Subscribe permissions may name a queue group: `"jobs.* workers"` (subject, one space, queue pattern), as in nats-server. */
function checkSubscribePatterns(where: string, list: string[] | undefined): void {
  for (const s of list ?? []) {
    const parts = s.split(' ')
    if (parts.length > 2 || !isValidSubject(parts[0] as string) || (parts.length === 2 && !isValidSubject(parts[1] as string))) {
      bad(`Cannot use ${where} subject ${JSON.stringify(s)}: expected a subject, optionally followed by one space and a queue group`)
    }
  }
}

export function resolveOptions(options: BrokerOptions = {}): DeepReadonly<ResolvedBrokerOptions> {
  const o = { ...options }
  const r: ResolvedBrokerOptions = {
    host: o.host ?? DEFAULTS.host,
    port: int('port', o.port ?? DEFAULTS.port, 0, 65535),
    monitorPort: o.monitorPort === false ? false : int('monitorPort', o.monitorPort ?? (DEFAULTS.monitorPort as number), 0, 65535),
    monitorHost: o.monitorHost ?? DEFAULTS.monitorHost,
    serverName: o.serverName ?? DEFAULTS.serverName,
    protocolVersion: o.protocolVersion ?? DEFAULTS.protocolVersion,
    maxPayloadBytes: int('maxPayloadBytes', o.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes, 1, 64 * 1024 * 1024),
    maxControlLineBytes: int('maxControlLineBytes', o.maxControlLineBytes ?? DEFAULTS.maxControlLineBytes, 64, 1024 * 1024),
    maxPendingBytes: int('maxPendingBytes', o.maxPendingBytes ?? DEFAULTS.maxPendingBytes, 1024),
    writeDeadlineMs: int('writeDeadlineMs', o.writeDeadlineMs ?? DEFAULTS.writeDeadlineMs, 1),
    pingIntervalMs: int('pingIntervalMs', o.pingIntervalMs ?? DEFAULTS.pingIntervalMs, 10),
    maxPingsOut: int('maxPingsOut', o.maxPingsOut ?? DEFAULTS.maxPingsOut, 1, 1000),
    authTimeoutMs: int('authTimeoutMs', o.authTimeoutMs ?? DEFAULTS.authTimeoutMs, 1),
    maxConnections: int('maxConnections', o.maxConnections ?? DEFAULTS.maxConnections, 1),
    maxSubscriptions: int('maxSubscriptions', o.maxSubscriptions ?? DEFAULTS.maxSubscriptions, 0),
    dropSubjects: [...(o.dropSubjects ?? [])],
    mqtt: o.mqtt === undefined ? undefined : resolveMqttOptions(o.mqtt),
    resp: o.resp === undefined ? undefined : resolveRespOptions(o.resp),
    token: o.token,
    // Copies, so freezing the resolved options never freezes the caller's objects.
    users: structuredClone(o.users ?? []),
    tls: o.tls === undefined ? undefined : { ...o.tls },
    websocket: o.websocket === undefined ? undefined : { ...o.websocket, ...(o.websocket.tls === undefined ? {} : { tls: { ...o.websocket.tls } }) },
    cluster: o.cluster === undefined ? undefined : resolveClusterOptions(o.cluster),
    leafnodes: o.leafnodes === undefined ? undefined : resolveLeafnodeOptions(o.leafnodes),
    logger: o.logger,
  }
  checkPatterns('dropSubjects', r.dropSubjects)
  if (r.token !== undefined && r.users.length > 0) bad('Cannot use token and users together: pick one authentication method')
  if (r.token === '') bad('Cannot use an empty token')
  const names = new Set<string>()
  for (const u of r.users) {
    if (u.user === '' || names.has(u.user)) bad(`Cannot use user ${JSON.stringify(u.user)}: names must be non-empty and unique`)
    names.add(u.user)
    checkPatterns(`permissions of ${u.user}`, [...(u.permissions?.publish?.allow ?? []), ...(u.permissions?.publish?.deny ?? [])])
    checkSubscribePatterns(`permissions of ${u.user}`, [...(u.permissions?.subscribe?.allow ?? []), ...(u.permissions?.subscribe?.deny ?? [])])
  }
  if (r.websocket !== undefined) int('websocket.port', r.websocket.port, 0, 65535)
  // The logger is an object with its own state: keep it out of the freeze.
  const logger = r.logger
  r.logger = undefined
  const frozen = deepFreeze(r) as DeepReadonly<ResolvedBrokerOptions>
  return logger === undefined ? frozen : Object.freeze({ ...frozen, logger }) as DeepReadonly<ResolvedBrokerOptions>
}
