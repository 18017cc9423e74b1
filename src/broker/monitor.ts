// Monitoring HTTP: /varz, /connz, /subsz (alias /subscriptionsz), /healthz and /metrics, with
// nats-server's field names so existing dashboards and scripts keep working.
import { cpus } from 'node:os'
import { startAdminServer, type AdminServer } from '../internal/admin-server.js'
import { createMetricsRegistry, Gauge } from '../internal/metrics.js'
import type { Broker } from './server.js'
import type { Client } from './client.js'
import { routez, varzCluster } from './cluster/routez.js'
import { leafz, varzLeaf } from './cluster/leafz.js'

const MS_TO_NS = 1_000_000

function uptime(since: Date, now: number): string {
  let s = Math.floor((now - since.getTime()) / 1000)
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  return `${d > 0 ? `${d}d` : ''}${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s}s`
}

/** CPU percent of this process since the previous sample, as nats-server reports it. */
class CpuSampler {
  #last = process.cpuUsage()
  #lastAt = process.hrtime.bigint()
  #value = 0

  sample(): number {
    const now = process.hrtime.bigint()
    const elapsedUs = Number(now - this.#lastAt) / 1000
    if (elapsedUs > 100_000) {
      const u = process.cpuUsage(this.#last)
      this.#value = Math.round(((u.user + u.system) / elapsedUs) * 1000) / 10
      this.#last = process.cpuUsage()
      this.#lastAt = now
    }
    return this.#value
  }
}

export function intParam(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name)
  if (v === null) return fallback
  const n = Number.parseInt(v, 10)
  return Number.isFinite(n) && n >= 0 ? n : fallback
}

export function varz(broker: Broker, cpu: CpuSampler): Record<string, unknown> {
  const o = broker.options
  const now = Date.now()
  const s = broker.stats
  return {
    server_id: broker.serverId,
    server_name: o.serverName === '' ? broker.serverId : o.serverName,
    version: o.protocolVersion,
    proto: 1,
    host: o.host,
    port: broker.port,
    max_connections: o.maxConnections,
    ping_interval: o.pingIntervalMs * MS_TO_NS,
    ping_max: o.maxPingsOut,
    http_host: o.monitorHost,
    http_port: broker.monitor?.port ?? 0,
    auth_required: broker.authRequired,
    tls_required: o.tls !== undefined,
    auth_timeout: o.authTimeoutMs / 1000,
    max_control_line: o.maxControlLineBytes,
    max_payload: o.maxPayloadBytes,
    max_pending: o.maxPendingBytes,
    write_deadline: o.writeDeadlineMs * MS_TO_NS,
    websocket: o.websocket === undefined ? {} : { host: o.websocket.host ?? o.host, port: broker.wsPort },
    start: broker.start.toISOString(),
    now: new Date(now).toISOString(),
    uptime: uptime(broker.start, now),
    mem: process.memoryUsage.rss(),
    cores: cpus().length,
    cpu: cpu.sample(),
    connections: broker.clients.size,
    total_connections: s.totalConnections,
    cluster: varzCluster(broker.cluster),
    routes: broker.cluster?.routes.size ?? 0,
    remotes: 0,
    leafnodes: broker.leafs?.leafs.size ?? 0,
    leaf: varzLeaf(broker.leafs),
    in_msgs: s.inMsgs,
    out_msgs: s.outMsgs,
    in_bytes: s.inBytes,
    out_bytes: s.outBytes,
    slow_consumers: s.slowConsumers,
    // Producer flow control (flow-control.ts): pauses, not disconnections.
    stalled_clients: broker.flow.stats.stalls,
    subscriptions: broker.sublist.count,
  }
}

export function connz(broker: Broker, url: URL): Record<string, unknown> {
  const now = Date.now()
  const offset = intParam(url, 'offset', 0)
  const limit = intParam(url, 'limit', 1024)
  const withSubs = url.searchParams.get('subs') === '1' || url.searchParams.get('subs') === 'true'
  const closed = url.searchParams.get('state') === 'closed'
  let connections: Record<string, unknown>[]
  let total: number
  if (closed) {
    total = broker.closedConnections.length
    connections = broker.closedConnections.slice(offset, offset + limit).map((c) => ({
      cid: c.cid,
      ip: c.ip,
      port: c.port,
      start: c.start.toISOString(),
      stop: c.stop.toISOString(),
      reason: c.reason,
      uptime: uptime(c.start, c.stop.getTime()),
      in_msgs: c.inMsgs,
      out_msgs: c.outMsgs,
      in_bytes: c.inBytes,
      out_bytes: c.outBytes,
      name: c.name,
      ...(c.user === '' ? {} : { authorized_user: c.user }),
    }))
  } else {
    const all = [...broker.clients.values()]
    total = all.length
    connections = all.slice(offset, offset + limit).map((c) => ({
      cid: c.cid,
      kind: 'Client',
      type: c.transport.kind === 'ws' ? 'websocket' : 'nats',
      ip: c.remoteAddress,
      port: c.remotePort,
      start: c.start.toISOString(),
      last_activity: new Date(c.lastActivity).toISOString(),
      uptime: uptime(c.start, now),
      idle: uptime(new Date(c.lastActivity), now),
      pending_bytes: c.pendingBytes,
      in_msgs: c.inMsgs,
      out_msgs: c.outMsgs,
      in_bytes: c.inBytes,
      out_bytes: c.outBytes,
      subscriptions: c.subs.size,
      ...stallFields(broker, c),
      name: c.name,
      lang: c.lang,
      version: c.version,
      ...(c.transport.kind === 'tls' ? { tls_version: '1.3' } : {}),
      ...(c.user === '' ? {} : { authorized_user: c.user }),
      ...(withSubs ? { subscriptions_list: [...c.subs.values()].map((s) => s.subject) } : {}),
    }))
  }
  return {
    server_id: broker.serverId,
    now: new Date(now).toISOString(),
    num_connections: connections.length,
    total,
    offset,
    limit,
    connections,
  }
}

/** nats-server's `stalls` per connection, plus whether it is paused now and on whom. */
function stallFields(broker: Broker, c: Client): Record<string, unknown> {
  if (c.stalls === 0) return {}
  const target = broker.flow.targetOf(c)
  return target === undefined ? { stalls: c.stalls, stalled: false } : { stalls: c.stalls, stalled: true, stalled_on: target.cid }
}

export function subsz(broker: Broker, url: URL): Record<string, unknown> {
  const withSubs = url.searchParams.get('subs') === '1' || url.searchParams.get('subs') === 'true'
  const out: Record<string, unknown> = { ...broker.sublist.stats() }
  if (withSubs) {
    const offset = intParam(url, 'offset', 0)
    const limit = intParam(url, 'limit', 1024)
    const all = broker.sublist.all()
    out.total = all.length
    out.offset = offset
    out.limit = limit
    out.subscriptions_list = all.slice(offset, offset + limit).map((s) => ({
      subject: s.subject,
      ...(s.queue === undefined ? {} : { qgroup: s.queue }),
      sid: s.sid,
      msgs: s.delivered,
      ...(s.max > 0 ? { max: s.max } : {}),
      cid: s.client?.cid ?? 0,
    }))
  }
  return out
}

function registerMetrics(broker: Broker, registry: ReturnType<typeof createMetricsRegistry>): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      },
    })
  }
  const s = broker.stats
  gauge('switchyard_broker_connections', 'Open client connections', () => broker.clients.size)
  gauge('switchyard_broker_total_connections', 'Client connections accepted since start', () => s.totalConnections)
  gauge('switchyard_broker_subscriptions', 'Active subscriptions', () => broker.sublist.count)
  gauge('switchyard_broker_in_msgs', 'Messages received from publishers', () => s.inMsgs)
  gauge('switchyard_broker_out_msgs', 'Messages delivered to subscribers', () => s.outMsgs)
  gauge('switchyard_broker_in_bytes', 'Payload bytes received', () => s.inBytes)
  gauge('switchyard_broker_out_bytes', 'Payload bytes delivered', () => s.outBytes)
  gauge('switchyard_broker_slow_consumers', 'Connections closed as slow consumers', () => s.slowConsumers)
  gauge('switchyard_broker_stalls', 'Times a publisher was paused for a subscriber over 3/4 of max_pending', () => broker.flow.stats.stalls)
}

export async function startMonitor(broker: Broker, host: string, port: number): Promise<AdminServer> {
  const registry = createMetricsRegistry({ prefix: 'switchyard_broker_process_' })
  registerMetrics(broker, registry)
  const admin = await startAdminServer({ host, port, registry, health: { broker: () => !broker.closed } })
  const cpu = new CpuSampler()
  admin.json('/varz', () => varz(broker, cpu))
  admin.json('/connz', (_req, url) => connz(broker, url))
  admin.json('/subsz', (_req, url) => subsz(broker, url))
  admin.json('/routez', () => routez(broker.serverId, broker.cluster))
  admin.json('/leafz', (_req, url) => leafz(broker.serverId, broker.leafs, url.searchParams.get('subs') === '1' || url.searchParams.get('subs') === 'true'))
  admin.json('/subscriptionsz', (_req, url) => subsz(broker, url))
  return admin
}
