// The conformance suite's messaging cases across a cluster: publishers on node A, subscribers on
// the other nodes in turn, for {3 x Switchyard} and {2 x Switchyard + 1 x nats-server 2.9}.
// Before publishing, each case waits for a route PING/PONG round trip from A to every peer, so A
// has processed all the interest its peers announced (no sleeping by the clock).
import { describe, before, after } from 'node:test'
import { connect, type ConnectionOptions, type NatsConnection } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { messagingCases } from '../_messaging-cases.js'
import { natsServerPath } from '../_targets.js'
import { routeUrl, startNatsServer, startNode, until, type ExternalNode } from './_cluster.js'

const shapes = [
  { name: '3 x Switchyard', natsServer: false },
  { name: '2 x Switchyard + nats-server', natsServer: true },
] as const

for (const shape of shapes) {
  const skip = shape.natsServer && natsServerPath() === undefined ? 'nats-server is not installed' : false
  describe(`cluster conformance: ${shape.name}`, { skip }, () => {
    let a: Broker
    let b: Broker
    let c: Broker | undefined
    let ns: ExternalNode | undefined
    const conns: NatsConnection[] = []
    let turn = 0
    const open = async (port: number, extra: ConnectionOptions = {}): Promise<NatsConnection> => {
      const x = await connect({ servers: `127.0.0.1:${port}`, ...extra })
      conns.push(x)
      return x
    }

    before(async () => {
      a = await startNode({})
      b = await startNode({ routes: [routeUrl(a)] })
      if (shape.natsServer) ns = await startNatsServer([routeUrl(a)])
      else c = await startNode({ routes: [routeUrl(a)] })
      await until(() => a.cluster?.routes.size === 2 && b.cluster?.routes.size === 2 && (c === undefined || c.cluster?.routes.size === 2), 15_000, 'a full mesh of 3')
    })
    after(async () => {
      for (const x of conns) await x.close().catch(() => {})
      await Promise.all([a, b, c].map((n) => n?.close()))
      await ns?.stop()
    })

    messagingCases(() => ({
      pub: (extra) => open(a.port, extra),
      // Subscribers alternate between the two other nodes, so one case spans both.
      sub: (extra) => open(turn++ % 2 === 0 ? b.port : (c?.port ?? (ns as ExternalNode).port), extra),
      settle: async () => {
        await (a.cluster?.sync() ?? Promise.resolve())
      },
    }))
  })
}
