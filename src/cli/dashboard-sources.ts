// Dashboard snapshot sources for each subsystem, so the same live page (src/internal/dashboard)
// works on the demo, on a standalone broker's monitor port and on a standalone proxy's admin port.
import type { BrokerSnapshot, ClusterNodeSnapshot, ClusterSnapshot, ProxyServerSnapshot, ProxySnapshot, StreamSnapshot } from '../internal/dashboard/snapshot.js'
import type { Broker } from '../broker/index.js'
import type { AccessLogRecord, ProxyPlugin, ProxyServer } from '../proxy/index.js'

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']

/** Counters fed by the proxy's access-log hook. */
export class AccessCounters {
  requests = 0
  readonly statusClasses: Record<string, number> = {}
  readonly regions: Record<string, number> = {}
  readonly cache = { hits: 0, misses: 0, stale: 0, bypass: 0 }
  limited = 0

  add(r: AccessLogRecord): void {
    this.requests++
    const c = Math.floor(r.status / 100)
    // Constant keys for the usual classes: no string built per request.
    const cls = c >= 0 && c < STATUS_CLASSES.length ? (STATUS_CLASSES[c] as string) : `${c}xx`
    this.statusClasses[cls] = (this.statusClasses[cls] ?? 0) + 1
    if (r.region !== undefined) this.regions[r.region] = (this.regions[r.region] ?? 0) + 1
    if (r.cache === 'HIT') this.cache.hits++
    else if (r.cache === 'MISS') this.cache.misses++
    else if (r.cache === 'STALE') this.cache.stale++
    else if (r.cache === 'BYPASS') this.cache.bypass++
    if (r.status === 429) this.limited++
  }
}

/** A proxy plugin that only counts access-log records for the dashboard. */
export function accessCountersPlugin(counters: AccessCounters): ProxyPlugin {
  return { name: 'dashboard-counters', create: () => ({ onLog: (_ctx, r) => counters.add(r) }) }
}

export function proxySnapshot(proxy: ProxyServer, counters: AccessCounters): ProxySnapshot {
  const servers: ProxyServerSnapshot[] = []
  for (const pool of proxy.generation.pools.values()) {
    for (const s of pool.servers) {
      const region = typeof pool.region === 'string' ? pool.region : undefined
      servers.push({
        id: s.id,
        pool: pool.name,
        ...(region === undefined ? {} : { region }),
        state: s.state === 'up' ? 'healthy' : s.state,
        requests: s.totals.requests,
        active: s.active,
      })
    }
  }
  return { requests: counters.requests, statusClasses: counters.statusClasses, servers, regions: counters.regions, cache: counters.cache, limited: counters.limited }
}

interface ConsumerInfoLike {
  name?: string
  num_pending?: number
  num_ack_pending?: number
  delivered?: { stream_seq?: number }
}

export function brokerSnapshot(broker: Broker): BrokerSnapshot {
  const s = broker.stats
  const streams: StreamSnapshot[] = []
  const jsz = broker.jetstream?.jsz()
  for (const d of jsz?.account_details[0]?.stream_detail ?? []) {
    const state = (d['state'] ?? {}) as { messages?: number; bytes?: number }
    const consumers = ((d['consumer_detail'] ?? []) as ConsumerInfoLike[]).map((c) => ({
      name: c.name ?? '',
      pending: c.num_pending ?? 0,
      ackPending: c.num_ack_pending ?? 0,
      delivered: c.delivered?.stream_seq ?? 0,
    }))
    streams.push({ name: String(d['name']), messages: state.messages ?? 0, bytes: state.bytes ?? 0, consumers })
  }
  return {
    inMsgs: s.inMsgs,
    outMsgs: s.outMsgs,
    inBytes: s.inBytes,
    outBytes: s.outBytes,
    connections: broker.clients.size,
    subscriptions: broker.sublist.count,
    slowConsumers: s.slowConsumers,
    ...(jsz === undefined ? {} : { streams }),
    ...(broker.cluster === undefined && broker.leafs === undefined ? {} : { cluster: clusterSnapshot(broker) }),
  }
}

/** This node, its route peers and its leafnode links, for the dashboard's node table. */
export function clusterSnapshot(broker: Broker): ClusterSnapshot {
  const s = broker.stats
  const nodes: ClusterNodeSnapshot[] = [
    { name: broker.options.serverName === '' ? broker.serverId : broker.options.serverName, kind: 'self', addr: `${broker.options.host}:${broker.port}`, inMsgs: s.inMsgs, outMsgs: s.outMsgs, subscriptions: 0 },
  ]
  const c = broker.cluster
  for (const r of c?.routes.values() ?? []) {
    nodes.push({ name: r.remoteName, kind: 'route', addr: `${r.remoteAddress}:${r.remotePort}`, inMsgs: r.inMsgs, outMsgs: r.outMsgs, subscriptions: c?.interest.remoteSubsOf(r) ?? 0, tls: r.tls })
  }
  for (const l of broker.leafs?.leafs ?? []) {
    nodes.push({ name: l.remoteName, kind: 'leaf', addr: `${l.remoteAddress}:${l.remotePort}`, inMsgs: l.inMsgs, outMsgs: l.outMsgs, subscriptions: l.subs.size })
  }
  return { name: c?.options.name ?? '', nodes }
}
