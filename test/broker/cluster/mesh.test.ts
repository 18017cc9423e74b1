// Three Switchyard nodes: B and C name only A in their routes and find each other through gossip.
// Stock nats.js clients on different nodes see fan-out exactly once, wildcard and unsubscribe
// propagation, and request/reply (with no-responders) across nodes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, ErrorCode, type NatsConnection, type NatsError, type Msg, type Subscription } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { routeUrl, startNode, until } from './_cluster.js'

const sc = StringCodec()

/** Collects messages of a subscription until `end` arrives on it (per-route order makes this a barrier). */
function collect(sub: Subscription): { msgs: Msg[]; ended: () => boolean } {
  const msgs: Msg[] = []
  let ended = false
  void (async () => {
    for await (const m of sub) {
      if (m.subject.endsWith('.end')) ended = true
      else msgs.push(m)
    }
  })()
  return { msgs, ended: () => ended }
}

test('3 Switchyard nodes: gossip makes a full mesh; fan-out exactly once, wildcards, unsubscribe, request/reply', async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
  })
  const a = await startNode({})
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)] })
  nodes.push(b)
  const c = await startNode({ routes: [routeUrl(a)] })
  nodes.push(c)
  // B and C never named each other: only gossip from A can connect them.
  await until(() => nodes.every((n) => n.cluster?.routes.size === 2), 10_000, 'a full mesh')
  assert.ok(b.cluster?.routes.has(c.serverId))
  assert.ok(c.cluster?.routes.has(b.serverId))

  const nc = async (n: Broker): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${n.port}` })
    conns.push(x)
    return x
  }
  const pub = await nc(a)
  const onB = await nc(b)
  const onC = await nc(c)
  const sb = collect(onB.subscribe('orders.*'))
  const subC = onC.subscribe('orders.>')
  const scx = collect(subC)
  await onB.flush()
  await onC.flush()
  await until(() => a.cluster?.interest.routesInterested('orders.new') === 2, 5000, 'interest of B and C on A')

  const N = 50
  for (let i = 0; i < N; i++) pub.publish(`orders.${i % 2 === 0 ? 'new' : 'paid'}`, sc.encode(String(i)))
  pub.publish('orders.end')
  await pub.flush()
  await until(() => sb.ended() && scx.ended(), 5000, 'the end marker on B and C')
  assert.equal(sb.msgs.length, N, 'B got each message exactly once')
  assert.equal(scx.msgs.length, N, 'C got each message exactly once')
  assert.deepEqual(sb.msgs.map((m) => sc.decode(m.data)), Array.from({ length: N }, (_, i) => String(i)))
  // B (orders.*) must not have an orders.x.y message; C (orders.>) must.
  pub.publish('orders.deep.one')
  pub.publish('orders.end')
  await pub.flush()
  await until(() => scx.msgs.length === N + 1, 5000, 'the deep message on C')
  assert.equal(sb.msgs.length, N)

  // Unsubscribe on C propagates: A stops sending orders.* to C.
  const ctl = collect(onC.subscribe('ctl.>'))
  await onC.flush()
  await until(() => a.cluster?.interest.routesInterested('ctl.x') === 1, 5000, 'ctl interest on A')
  subC.unsubscribe()
  await onC.flush()
  await until(() => a.cluster?.interest.routesInterested('orders.new') === 1, 5000, 'C interest gone on A')
  pub.publish('orders.new', sc.encode('after'))
  pub.publish('ctl.end')
  await pub.flush()
  await until(() => ctl.ended(), 5000, 'ctl end on C')
  assert.equal(scx.msgs.length, N + 1, 'C got nothing after its unsubscribe')

  // Request/reply: requester on B, responder on C; no-responders from B for a subject nobody serves.
  onC.subscribe('svc.echo', { callback: (_e, m) => m.respond(sc.encode(`echo:${sc.decode(m.data)}`)) })
  await onC.flush()
  await until(() => b.cluster?.interest.routesInterested('svc.echo') === 1, 5000, 'svc interest on B')
  const reply = await onB.request('svc.echo', sc.encode('hi'), { timeout: 2000 })
  assert.equal(sc.decode(reply.data), 'echo:hi')
  await assert.rejects(onB.request('svc.none', sc.encode('x'), { timeout: 2000 }), (err: NatsError) => err.code === ErrorCode.NoResponders)

  // Clients hear of every node's client URL.
  await until(() => (pub.info?.connect_urls?.length ?? 0) === 3, 5000, 'connect_urls with 3 nodes')
})

test('clients get an async INFO with the new connect_urls as nodes join and leave', async (t) => {
  const a = await startNode({})
  t.after(() => a.close())
  const nc = await connect({ servers: `127.0.0.1:${a.port}` })
  t.after(() => nc.close())
  assert.deepEqual(nc.info?.connect_urls, [`127.0.0.1:${a.port}`])
  const b = await startNode({ routes: [routeUrl(a)] })
  await until(() => nc.info?.connect_urls?.includes(`127.0.0.1:${b.port}`) === true, 5000, "B's URL announced to A's client")
  await b.close()
  await until(() => nc.info?.connect_urls?.length === 1, 5000, "B's URL withdrawn")
})
