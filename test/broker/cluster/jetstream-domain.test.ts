// JetStream in a cluster: one domain per node. Each node's `$JS.API` answers its own clients only;
// `$JS.<domain>.API` reaches a node's streams from any node, Switchyard or nats-server. A client on
// another node creates a stream, publishes with PubAcks, and consumes through pull and push
// consumers: deliveries cross the route with their stream subject, acks come back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AckPolicy, connect, createInbox, DeliverPolicy, StringCodec, StorageType, type JsMsg, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { CLUSTER, routeUrl, startNatsServer, startNode, until, type ExternalNode } from './_cluster.js'

const sc = StringCodec()

async function jsNode(domain: string, routes: string[] = []): Promise<Broker> {
  return startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, jetstream: { domain }, cluster: { name: CLUSTER, host: '127.0.0.1', port: 0, routes, retryDelayMs: 50, maxRetryDelayMs: 500 } })
}

test('domains: a client of another node (Switchyard or nats-server) creates, publishes to and consumes from a stream on A; $JS.API stays per node', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  let ns: ExternalNode | undefined
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
    await ns?.stop()
  })
  const a = await jsNode('east')
  nodes.push(a)
  const b = await jsNode('west', [routeUrl(a)])
  nodes.push(b)
  const c = await startNode({ routes: [routeUrl(a)] }, { monitorPort: false })
  nodes.push(c)
  ns = await startNatsServer([routeUrl(a)])
  const natsNode = ns
  await until(() => a.cluster?.routes.size === 3 && b.cluster?.routes.size === 3 && c.cluster?.routes.size === 3, 15_000, 'a full mesh of 4')
  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  const onA = await nc(a.port)
  const onB = await nc(b.port)
  const onC = await nc(c.port)
  const onN = await nc(natsNode.port)
  await until(() => c.cluster?.interest.routesInterested('$JS.east.API.INFO') === 1 && c.cluster?.interest.routesInterested('$JS.west.API.INFO') === 1, 5000, 'domain APIs known on C')

  // From C (no JetStream of its own): create the stream in domain east.
  const jsmC = await onC.jetstreamManager({ domain: 'east' })
  await jsmC.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: StorageType.Memory })
  // Each node's plain $JS.API is its own: B (domain west) has no stream ORDERS, A has it.
  assert.deepEqual((await (await onB.jetstreamManager()).streams.names().next()).sort(), [])
  assert.deepEqual(await (await onA.jetstreamManager()).streams.names().next(), ['ORDERS'])
  assert.deepEqual(await (await onB.jetstreamManager({ domain: 'east' })).streams.names().next(), ['ORDERS'])

  // Publish from C and from the nats-server node, with PubAcks from A.
  await until(() => c.cluster?.interest.routesInterested('orders.x') === 1, 5000, 'stream interest on C')
  const jsC = onC.jetstream({ domain: 'east' })
  const jsN = onN.jetstream({ domain: 'east' })
  for (let i = 1; i <= 5; i++) assert.equal((await jsC.publish(`orders.c${i}`, sc.encode(`c${i}`))).seq, i)
  await until(async () => {
    const r = (await (await fetch(`${natsNode.monitorUrl}/subsz?subs=1`)).json()) as { num_subscriptions: number }
    return r.num_subscriptions >= 1
  }, 5000, 'interest on nats-server')
  for (let i = 1; i <= 5; i++) assert.equal((await jsN.publish(`orders.n${i}`, sc.encode(`n${i}`))).seq, 5 + i)

  // Pull consumer used from C: every message once, with its stream subject, acks reach A.
  await jsmC.consumers.add('ORDERS', { durable_name: 'pull', ack_policy: AckPolicy.Explicit })
  const pulled: JsMsg[] = []
  const batch = await jsC.consumers.get('ORDERS', 'pull').then((con) => con.fetch({ max_messages: 10, expires: 3000 }))
  for await (const m of batch) {
    pulled.push(m)
    m.ack()
    if (pulled.length === 10) break
  }
  assert.deepEqual(pulled.map((m) => m.subject), ['c1', 'c2', 'c3', 'c4', 'c5', 'n1', 'n2', 'n3', 'n4', 'n5'].map((s) => `orders.${s}`))
  assert.deepEqual(pulled.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  await onC.flush()
  await until(async () => (await jsmC.consumers.info('ORDERS', 'pull')).ack_floor.stream_seq === 10, 5000, 'acks from C reach A')

  // Push consumer whose deliver subject lives on the nats-server node.
  const inbox = createInbox()
  const pushed: { subject: string; reply: string }[] = []
  onN.subscribe(inbox, {
    callback: (_e, m) => {
      pushed.push({ subject: m.subject, reply: m.reply ?? '' })
      m.respond() // an ack
    },
  })
  await onN.flush()
  await until(() => a.cluster?.interest.routesInterested(inbox) === 1, 5000, 'deliver subject interest on A')
  await jsmC.consumers.add('ORDERS', { durable_name: 'push', deliver_subject: inbox, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All })
  await until(() => pushed.length === 10, 5000, 'ten pushed messages on the nats-server client')
  assert.deepEqual(pushed.map((p) => p.subject), pulled.map((m) => m.subject))
  assert.ok(pushed.every((p) => p.reply.startsWith('$JS.ACK.ORDERS.push.') && !p.reply.includes('@')), 'ack reply without the route encoding')
  await until(async () => (await jsmC.consumers.info('ORDERS', 'push')).ack_floor.stream_seq === 10, 5000, 'acks from the nats-server client reach A')
  assert.equal((await jsmC.streams.info('ORDERS')).state.messages, 10)
})
