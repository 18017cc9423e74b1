// A leafnode survives its hub's restart: the spoke re-dials with backoff and sends its interest
// again, so both directions flow once the hub is back. Hubs: nats-server (SIGKILL and restart on
// the same ports) and a Switchyard node (closed and started again on the same leaf port).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { routeUrl, startNode, until } from './_cluster.js'
import { flowing, natsLeafServer } from './_leaf.js'

const sc = StringCodec()

test('Switchyard spoke: nats-server hub killed and restarted; interest is re-sent, messages flow both ways', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const ns = await natsLeafServer({ hub: true })
  t.after(() => ns.dispose())
  const spokeNode = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${ns.leafPort}` }], retryDelayMs: 50, maxRetryDelayMs: 200 } })
  t.after(() => spokeNode.close())
  await until(() => spokeNode.leafs?.leafs.size === 1, 5000, 'the leaf link')
  const spoke = await connect({ servers: `127.0.0.1:${spokeNode.port}` })
  t.after(() => spoke.close())
  const got: string[] = []
  spoke.subscribe('edge.>', { callback: (_e, m) => got.push(sc.decode(m.data)) })
  await spoke.flush()

  await ns.stop()
  await until(() => spokeNode.leafs?.leafs.size === 0, 5000, 'the link noticed the hub is gone')
  await ns.start()
  await until(() => spokeNode.leafs?.leafs.size === 1, 5000, 'the spoke re-dialled the restarted hub')

  // A client of the new hub: the spoke's subscription made before the restart is known again.
  const hub = await connect({ servers: `127.0.0.1:${ns.port}` })
  t.after(() => hub.close())
  const up: string[] = []
  hub.subscribe('core.>', { callback: (_e, m) => up.push(sc.decode(m.data)) })
  await flowing(spoke, hub)
  await flowing(hub, spoke)
  hub.publish('edge.1', sc.encode('down'))
  spoke.publish('core.1', sc.encode('up'))
  await until(() => got.length >= 1 && up.length >= 1, 5000, 'both directions after the restart')
  assert.deepEqual(got, ['down'])
  assert.deepEqual(up, ['up'])
})

test('nats-server spoke: Switchyard hub closed and started again on the same leaf port', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  let hubNode: Broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { port: 0 } })
  const leafPort = hubNode.leafs?.port ?? 0
  const clientPort = hubNode.port
  t.after(() => hubNode.close())
  const ns = await natsLeafServer({ remotes: [`nats-leaf://127.0.0.1:${leafPort}`] })
  t.after(() => ns.dispose())
  await until(() => hubNode.leafs?.leafs.size === 1, 5000, 'the leaf link')
  const spoke = await connect({ servers: `127.0.0.1:${ns.port}` })
  t.after(() => spoke.close())
  const got: string[] = []
  spoke.subscribe('edge.>', { callback: (_e, m) => got.push(sc.decode(m.data)) })
  await spoke.flush()

  await hubNode.close()
  hubNode = await startBroker({ host: '127.0.0.1', port: clientPort, monitorPort: false, leafnodes: { port: leafPort } })
  // nats-server re-dials every second (its `reconnect: 1`).
  await until(() => hubNode.leafs?.leafs.size === 1, 8000, 'nats-server re-dialled the restarted hub')
  let hub: NatsConnection | undefined
  t.after(() => hub?.close())
  hub = await connect({ servers: `127.0.0.1:${clientPort}` })
  await flowing(hub, spoke)
  hub.publish('edge.2', sc.encode('down'))
  await until(() => got.length >= 1, 5000, 'hub to spoke after the restart')
  assert.deepEqual(got, ['down'])
})

test('a remote with several urls: when its hub dies the spoke dials the next hub of that cluster', async (t) => {
  const a = await startNode({}, { leafnodes: { port: 0 } })
  const b = await startNode({ routes: [routeUrl(a)] }, { leafnodes: { port: 0 } })
  t.after(() => b.close())
  let aClosed = false
  t.after(async () => {
    if (!aClosed) await a.close()
  })
  const urls = [`nats-leaf://127.0.0.1:${a.leafs?.port ?? 0}`, `nats-leaf://127.0.0.1:${b.leafs?.port ?? 0}`]
  const spokeNode = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ urls }], retryDelayMs: 50, maxRetryDelayMs: 200 } })
  t.after(() => spokeNode.close())
  await until(() => a.cluster?.routes.size === 1 && spokeNode.leafs?.leafs.size === 1, 5000, 'routes and the leaf link')
  const first = (a.leafs?.leafs.size ?? 0) === 1 ? a : b
  const other = first === a ? b : a
  const spoke = await connect({ servers: `127.0.0.1:${spokeNode.port}` })
  t.after(() => spoke.close())
  const got: string[] = []
  spoke.subscribe('edge.>', { callback: (_e, m) => got.push(sc.decode(m.data)) })
  await spoke.flush()

  if (first === a) aClosed = true
  await first.close()
  await until(() => other.leafs?.leafs.size === 1 && spokeNode.leafs?.leafs.size === 1, 5000, 'the spoke moved to the other hub')
  const onOther = await connect({ servers: `127.0.0.1:${other.port}` })
  t.after(() => onOther.close())
  await flowing(onOther, spoke)
  onOther.publish('edge.3', sc.encode('via-other'))
  await until(() => got.length >= 1, 5000, 'the other hub to the spoke')
  assert.deepEqual(got, ['via-other'])
})
