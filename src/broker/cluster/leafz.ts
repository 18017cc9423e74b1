// /leafz in nats-server's shape (server/monitor.go Leafz), and the leaf block of /varz.
import type { LeafManager } from './leaf-manager.js'

/** nats-server prints durations like Go's time.Duration: "1.234ms", "0s". */
function goDuration(ms: number): string {
  if (ms < 0) return '0s'
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`
  return `${Number((ms / 1000).toFixed(3))}s`
}

export function leafz(serverId: string, leafs: LeafManager | undefined, withSubs: boolean): Record<string, unknown> {
  const list = leafs === undefined ? [] : [...leafs.leafs]
  return {
    server_id: serverId,
    now: new Date().toISOString(),
    leafnodes: list.length,
    leafs: list.map((l) => ({
      name: l.remoteName,
      is_spoke: l.spoke,
      account: '$G',
      ip: l.remoteAddress,
      port: l.remotePort,
      rtt: goDuration(l.rttMs),
      in_msgs: l.inMsgs,
      out_msgs: l.outMsgs,
      in_bytes: l.inBytes,
      out_bytes: l.outBytes,
      subscriptions: l.subs.size,
      ...(withSubs ? { subscriptions_list: [...l.subs.values()].map((s) => (s.queue === undefined ? s.subject : `${s.subject} ${s.queue}`)) } : {}),
    })),
  }
}

/** The `leaf` object of /varz ({} without leafnodes, as nats-server). */
export function varzLeaf(leafs: LeafManager | undefined): Record<string, unknown> {
  if (leafs === undefined || leafs.port === 0) return {}
  return { host: leafs.host, port: leafs.port }
}
