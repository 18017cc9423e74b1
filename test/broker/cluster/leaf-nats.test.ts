// Leafnodes against Debian's nats-server 2.9, both directions: a Switchyard spoke dialling a
// nats-server hub, and a nats-server spoke dialling a Switchyard hub. Stock nats.js clients on
// each side see fan-out exactly once both ways, wildcards, unsubscribe, one member per queue
// group, request/reply and headers across the link.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, headers, StringCodec, type Msg, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { until } from './_cluster.js'
import { flowing, leafz, natsLeafServer, type NatsLeafServer } from './_leaf.js'

const sc = StringCodec()
const skip = natsServerPath() === undefined ? 'nats-server is not installed' : false

/**
 * The shared checks. `hub` and `spoke` are clients of each side; `sy` is whichever side is
 * Switchyard, whose view of the peer's interest tells when an unsubscribe has crossed.
 */
async function exercise(hub: NatsConnection, spoke: NatsConnection, sy: Broker, syIsHub: boolean, natsMonitorUrl: string): Promise<void> {
  const got: Record<string, Msg[]> = { hubW: [], spokeW: [], q: [] }
  const subW = hub.subscribe('w.>', { callback: (_e, m) => got.hubW?.push(m) })
  spoke.subscribe('s.*', { callback: (_e, m) => got.spokeW?.push(m) })
  // Queue group: two members on the hub side, none on the spoke.
  for (let i = 0; i < 2; i++) hub.subscribe('jobs', { queue: 'workers', callback: (_e, m) => got.q?.push(m) })
  spoke.subscribe('svc.spoke', { callback: (_e, m) => m.respond(sc.encode(`spoke:${sc.decode(m.data)}`)) })
  hub.subscribe('svc.hub', { callback: (_e, m) => m.respond(sc.encode(`hub:${sc.decode(m.data)}`), m.headers === undefined ? {} : { headers: m.headers }) })
  await flowing(spoke, hub)
  await flowing(hub, spoke)

  // Fan-out both ways, wildcards, exactly once (a trailing marker proves nothing else is in flight).
  for (let i = 0; i < 5; i++) spoke.publish(`w.a.${i}`, sc.encode(`up${i}`))
  for (let i = 0; i < 5; i++) hub.publish(`s.${i}`, sc.encode(`down${i}`))
  for (let i = 0; i < 10; i++) spoke.publish('jobs', sc.encode(`job${i}`))
  spoke.publish('w.end')
  hub.publish('s.end')
  await until(() => got.hubW?.some((m) => m.subject === 'w.end') === true && got.spokeW?.some((m) => m.subject === 's.end') === true, 5000, 'both markers')
  await flowing(spoke, hub)
  assert.deepEqual(got.hubW?.filter((m) => m.subject !== 'w.end').map((m) => sc.decode(m.data)), ['up0', 'up1', 'up2', 'up3', 'up4'])
  assert.deepEqual(got.spokeW?.filter((m) => m.subject !== 's.end').map((m) => sc.decode(m.data)), ['down0', 'down1', 'down2', 'down3', 'down4'])
  assert.equal(got.q?.length, 10, 'each job to exactly one member of the group')
  assert.deepEqual(new Set(got.q?.map((m) => sc.decode(m.data))).size, 10)

  // Request/reply both ways; headers cross.
  const r1 = await hub.request('svc.spoke', sc.encode('ping'), { timeout: 3000 })
  assert.equal(sc.decode(r1.data), 'spoke:ping')
  const h = headers()
  h.set('X-Trace', 'abc-1')
  const r2 = await spoke.request('svc.hub', sc.encode('ping'), { timeout: 3000, headers: h })
  assert.equal(sc.decode(r2.data), 'hub:ping')
  assert.equal(r2.headers?.get('X-Trace'), 'abc-1')

  // Unsubscribe crosses the link: the Switchyard side forgets the peer's interest.
  if (syIsHub) {
    const s = spoke.subscribe('gone.soon')
    await flowing(hub, spoke)
    await until(() => sy.leafs?.leafsInterested('gone.soon') === 1, 5000, 'interest from the spoke')
    s.unsubscribe()
    await flowing(hub, spoke)
    await until(() => sy.leafs?.leafsInterested('gone.soon') === 0, 5000, 'the spoke unsubscribed')
  } else {
    assert.equal(sy.leafs?.leafsInterested('w.x'), 1)
    subW.unsubscribe()
    await flowing(spoke, hub)
    await until(() => sy.leafs?.leafsInterested('w.x') === 0, 5000, 'the hub unsubscribed')
  }

  // And the other way: nats-server forgets interest a Switchyard client dropped (LS- sent).
  const mine = syIsHub ? hub : spoke
  const natsSubs = async (): Promise<string[]> => (await leafz(natsMonitorUrl, true)).leafs[0]?.subscriptions_list ?? []
  const s2 = mine.subscribe('sy.gone')
  await mine.flush()
  await until(async () => (await natsSubs()).includes('sy.gone'), 5000, 'nats-server sees the subscription')
  s2.unsubscribe()
  await mine.flush()
  await until(async () => !(await natsSubs()).includes('sy.gone'), 5000, 'nats-server saw the unsubscribe')
}

test('Switchyard spoke -> nats-server hub: interest and messages flow both ways', { skip }, async (t) => {
  const ns: NatsLeafServer = await natsLeafServer({ hub: true })
  t.after(() => ns.dispose())
  const spokeNode = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${ns.leafPort}` }], retryDelayMs: 50 } })
  t.after(() => spokeNode.close())
  await until(async () => spokeNode.leafs?.leafs.size === 1 && (await leafz(ns.monitorUrl)).leafnodes === 1, 5000, 'the leaf link')
  const hub = await connect({ servers: `127.0.0.1:${ns.port}` })
  t.after(() => hub.close())
  const spoke = await connect({ servers: `127.0.0.1:${spokeNode.port}` })
  t.after(() => spoke.close())
  await exercise(hub, spoke, spokeNode, false, ns.monitorUrl)
  const lz = await leafz(spokeNode.monitor?.url as string)
  assert.equal(lz.leafnodes, 1)
  assert.equal(lz.leafs[0]?.is_spoke, true)
  assert.equal(lz.leafs[0]?.account, '$G')
  assert.ok((lz.leafs[0]?.out_msgs ?? 0) >= 15, JSON.stringify(lz))
})

test('nats-server spoke -> Switchyard hub (with leaf authorization): interest and messages flow both ways', { skip }, async (t) => {
  const hubNode = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, leafnodes: { port: 0, authorization: { user: 'leaf', password: 's3cret' } } })
  t.after(() => hubNode.close())
  const ns = await natsLeafServer({ remotes: [`nats-leaf://leaf:s3cret@127.0.0.1:${hubNode.leafs?.port ?? 0}`] })
  t.after(() => ns.dispose())
  await until(async () => hubNode.leafs?.leafs.size === 1 && (await leafz(ns.monitorUrl)).leafnodes === 1, 5000, 'the leaf link')
  const hub = await connect({ servers: `127.0.0.1:${hubNode.port}` })
  t.after(() => hub.close())
  const spoke = await connect({ servers: `127.0.0.1:${ns.port}` })
  t.after(() => spoke.close())
  await exercise(hub, spoke, hubNode, true, ns.monitorUrl)
  const lz = await leafz(hubNode.monitor?.url as string, true)
  assert.equal(lz.leafnodes, 1)
  assert.equal(lz.leafs[0]?.is_spoke, false)
  assert.ok(lz.leafs[0]?.name.startsWith('nats-leaf-'), JSON.stringify(lz.leafs[0]))
  assert.ok(Array.isArray(lz.leafs[0]?.subscriptions_list))
  const varz = (await (await fetch(`${hubNode.monitor?.url}/varz`)).json()) as { leafnodes: number; leaf: { port: number } }
  assert.equal(varz.leafnodes, 1)
  assert.equal(varz.leaf.port, hubNode.leafs?.port)
})
