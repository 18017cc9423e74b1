// /routez in nats-server's basic shape, and the cluster block of /varz.
import type { RouteManager } from './route-manager.js'

export function routez(serverId: string, cluster: RouteManager | undefined): Record<string, unknown> {
  const routes = cluster === undefined ? [] : [...cluster.routes.values()]
  return {
    server_id: serverId,
    now: new Date().toISOString(),
    num_routes: routes.length,
    routes: routes.map((r) => ({
      rid: r.rid,
      remote_id: r.remoteId,
      remote_name: r.remoteName,
      did_solicit: r.solicited,
      is_configured: r.solicited && cluster?.options.routes.includes(r.url) === true,
      ip: r.remoteAddress,
      port: r.remotePort,
      start: r.start.toISOString(),
      tls: r.tls,
      pending_size: r.pendingBytes,
      in_msgs: r.inMsgs,
      out_msgs: r.outMsgs,
      in_bytes: r.inBytes,
      out_bytes: r.outBytes,
      subscriptions: cluster?.interest.remoteSubsOf(r) ?? 0,
    })),
  }
}

/** The `cluster` object of /varz ({} without a cluster, as nats-server). */
export function varzCluster(cluster: RouteManager | undefined): Record<string, unknown> {
  if (cluster === undefined) return {}
  return { name: cluster.options.name, addr: cluster.host, cluster_port: cluster.port, tls_required: cluster.options.tls !== undefined, tls_verify: cluster.options.tls?.verify === true, urls: [...cluster.options.routes].map((u) => u.replace(/\/\/[^@/]*@/, '//')) }
}
