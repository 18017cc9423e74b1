// A mixed cluster: two Switchyard nodes and Debian's nats-server 2.9. The nats-server and one
// Switchyard node name only the first Switchyard node; gossip completes the mesh. Stock nats.js
// clients see fan-out exactly once, wildcards, unsubscribe and request/reply across both kinds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, ErrorCode, headers, type NatsConnection, type NatsError, type Msg, type Subscription } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { routez, routeUrl, startNatsServer, startNode, until, type ExternalNode } from './_cluster.js'

const sc = StringCodec()

function collect(sub: Subscription): { msgs: Msg[]; ends: () => number } {
  const msgs: Msg[] = []
  let ends = 0
  void (async () => {
    for await (const m of sub) {
      if (m.subject.endsWith('.end')) ends++
      else msgs.push(m)
    }
  })()
  return { msgs, ends: () => ends }
}

test('2 Switchyard nodes + nats-server: full mesh, fan-out exactly once both ways, wildcards, unsubscribe, request/reply, headers', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  let ns: ExternalNode | undefined
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
    await ns?.stop()
  })
  const a = await startNode({})
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)] })
  nodes.push(b)
  ns = await startNatsServer([routeUrl(a)])
  const natsNode = ns
  await until(async () => a.cluster?.routes.size === 2 && b.cluster?.routes.size === 2 && (await routez(natsNode.monitorUrl)).num_routes === 2, 15_000, 'a full mesh of 3')

  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  const onA = await nc(a.port)
  const onB = await nc(b.port)
  const onN = await nc(natsNode.port)

  // Publisher on a Switchyard node, subscribers on the other Switchyard node and on nats-server.
  const fromB = collect(onB.subscribe('evt.*'))
  const subN = onN.subscribe('evt.>')
  const fromN = collect(subN)
  await onB.flush()
  await onN.flush()
  await until(() => a.cluster?.interest.routesInterested('evt.x') === 2, 5000, 'interest of B and nats-server on A')
  const N = 40
  for (let i = 0; i < N; i++) onA.publish(`evt.${i}`, sc.encode(String(i)))
  onA.publish('evt.end')
  await onA.flush()
  await until(() => fromB.ends() === 1 && fromN.ends() === 1, 5000, 'end marker on B and nats-server')
  assert.equal(fromB.msgs.length, N)
  assert.equal(fromN.msgs.length, N)
  assert.deepEqual(fromN.msgs.map((m) => sc.decode(m.data)), Array.from({ length: N }, (_, i) => String(i)))

  // Publisher on nats-server: its RMSGs reach both Switchyard nodes once, headers intact.
  const onAsub = collect(onA.subscribe('evt.*'))
  await onA.flush()
  await until(async () => {
    const r = (await (await fetch(`${natsNode.monitorUrl}/subsz?subs=1`)).json()) as { num_subscriptions: number }
    return r.num_subscriptions >= 2
  }, 5000, 'interest on nats-server')
  const h = headers()
  h.set('X-Trace', 'abc')
  for (let i = 0; i < N; i++) onN.publish(`evt.${i}`, sc.encode(`n${i}`), { headers: h })
  onN.publish('evt.end')
  await onN.flush()
  await until(() => fromB.ends() === 2 && onAsub.ends() === 1, 5000, 'end marker from nats-server')
  assert.equal(fromB.msgs.length, 2 * N)
  assert.equal(onAsub.msgs.length, N)
  assert.equal(onAsub.msgs[0]?.headers?.get('X-Trace'), 'abc')

  // Unsubscribe on nats-server reaches A: nothing more goes there.
  subN.unsubscribe()
  await onN.flush()
  await until(() => a.cluster?.interest.routesInterested('evt.x') === 1, 5000, 'nats-server interest gone on A')

  // Request/reply: requester on nats-server, responder on B; no-responders from a Switchyard node.
  onB.subscribe('svc.time', { callback: (_e, m) => m.respond(sc.encode('tick')) })
  await onB.flush()
  await until(async () => {
    try {
      await onN.request('svc.time', sc.encode(''), { timeout: 500 })
      return true
    } catch {
      return false
    }
  }, 5000, 'svc.time answered through the route')
  const r = await onN.request('svc.time', sc.encode(''), { timeout: 2000 })
  assert.equal(sc.decode(r.data), 'tick')
  const r2 = await onA.request('svc.time', sc.encode(''), { timeout: 2000 })
  assert.equal(sc.decode(r2.data), 'tick')
  await assert.rejects(onA.request('svc.nobody', sc.encode(''), { timeout: 2000 }), (err: NatsError) => err.code === ErrorCode.NoResponders)
})

test('route authorization interoperates with nats-server: both sides require user/password, gossip dials with the cluster credentials', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const auth = { user: 'route', password: 's3cret' }
  const nodes: Broker[] = []
  let ns: ExternalNode | undefined
  t.after(async () => {
    for (const n of nodes) await n.close()
    await ns?.stop()
  })
  const a = await startNode({ authorization: auth })
  nodes.push(a)
  const withCreds = (b: Broker): string => `nats-route://route:s3cret@127.0.0.1:${b.cluster?.port ?? 0}`
  ns = await startNatsServer([withCreds(a)], undefined, '  authorization { user: route, password: s3cret }')
  const natsNode = ns
  // B names only the nats-server; it learns of A from the nats-server's gossip and dials it with its own credentials.
  const b = await startNode({ authorization: auth, routes: [`nats-route://route:s3cret@127.0.0.1:${natsNode.clusterPort}`] })
  nodes.push(b)
  await until(async () => a.cluster?.routes.size === 2 && b.cluster?.routes.size === 2 && (await routez(natsNode.monitorUrl)).num_routes === 2, 15_000, 'a full mesh with route auth')
})
