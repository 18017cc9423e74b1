// JetStream in a cluster without domains: `$JS.API` stays on its node (that interest is not
// routed), while a stream's subjects are ordinary interest, so a publish from another node is
// stored and its PubAck comes back across the route. Domains: jetstream-domain.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, ErrorCode, StorageType, type NatsConnection, type NatsError } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { routeUrl, startNode, until } from './_cluster.js'

const sc = StringCodec()

test('a stream on A stores a publish from a client of B and acks it; B does not answer the JetStream API', async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
  })
  const a = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, jetstream: {}, cluster: { name: 'sy-test', host: '127.0.0.1', port: 0 } })
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)] }, { monitorPort: false })
  nodes.push(b)
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 5000, 'A and B routed')
  const onA = await connect({ servers: `127.0.0.1:${a.port}` })
  const onB = await connect({ servers: `127.0.0.1:${b.port}` })
  conns.push(onA, onB)
  const jsm = await onA.jetstreamManager()
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: StorageType.Memory })
  await until(() => b.cluster?.interest.routesInterested('orders.x') === 1, 5000, 'stream interest on B')
  assert.equal(b.cluster?.interest.routesInterested('$JS.API.STREAM.INFO.ORDERS'), 0, 'the JetStream API is not routed')

  const ack = JSON.parse(sc.decode((await onB.request('orders.1', sc.encode('from B'), { timeout: 2000 })).data)) as { stream: string; seq: number }
  assert.deepEqual([ack.stream, ack.seq], ['ORDERS', 1])
  const info = await jsm.streams.info('ORDERS')
  assert.equal(info.state.messages, 1)
  // The JetStream API of B's node: B has none, and A's does not answer there.
  await assert.rejects(onB.request('$JS.API.STREAM.INFO.ORDERS', sc.encode(''), { timeout: 2000 }), (err: NatsError) => err.code === ErrorCode.NoResponders)
})
