// Leafnodes with routes: Switchyard hub A routed to B, a Switchyard spoke S and a nats-server spoke
// N both dialling A. Messages from a spoke reach A's route peer and the other spoke exactly once,
// messages from B reach both spokes exactly once, and a queue group spread over B and both spokes
// delivers each message to one member.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { routeUrl, startNode, until } from './_cluster.js'
import { flowing, leafz, natsLeafServer } from './_leaf.js'

const sc = StringCodec()

test('hub in a cluster: spoke <-> route peer <-> other spoke, each message exactly once', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes.reverse()) await n.close()
  })
  const a = await startNode({}, { leafnodes: { port: 0 } })
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)] })
  nodes.push(b)
  const s = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${a.leafs?.port ?? 0}` }], retryDelayMs: 50 } })
  nodes.push(s)
  const ns = await natsLeafServer({ remotes: [`nats-leaf://127.0.0.1:${a.leafs?.port ?? 0}`] })
  t.after(() => ns.dispose())
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1 && a.leafs?.leafs.size === 2 && s.leafs?.leafs.size === 1, 10_000, 'routes and leaf links')

  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  const onB = await nc(b.port)
  const onS = await nc(s.port)
  const onN = await nc(ns.port)
  const got = { b: [] as string[], s: [] as string[], n: [] as string[], q: [] as string[] }
  onB.subscribe('fan.>', { callback: (_e, m) => got.b.push(sc.decode(m.data)) })
  onS.subscribe('fan.>', { callback: (_e, m) => got.s.push(sc.decode(m.data)) })
  onN.subscribe('fan.>', { callback: (_e, m) => got.n.push(sc.decode(m.data)) })
  for (const c of [onB, onS, onN]) c.subscribe('work', { queue: 'g', callback: (_e, m) => got.q.push(sc.decode(m.data)) })
  // Every pair of ends can talk before counting starts.
  for (const [x, y] of [[onS, onB], [onB, onS], [onN, onB], [onB, onN], [onS, onN], [onN, onS]] as const) await flowing(x, y)

  onS.publish('fan.s', sc.encode('from-s'))
  onN.publish('fan.n', sc.encode('from-n'))
  onB.publish('fan.b', sc.encode('from-b'))
  const expectAll = (): boolean => got.b.length >= 3 && got.s.length >= 3 && got.n.length >= 3
  await until(expectAll, 5000, 'every end has every message')
  for (let i = 0; i < 30; i++) [onB, onS, onN][i % 3]?.publish('work', sc.encode(`w${i}`))
  await until(() => got.q.length >= 30, 5000, 'every job delivered')
  // Drain: one more round trip on each path before checking for duplicates.
  for (const [x, y] of [[onS, onB], [onN, onB], [onB, onS], [onB, onN]] as const) await flowing(x, y)
  assert.deepEqual(got.b.sort(), ['from-b', 'from-n', 'from-s'])
  assert.deepEqual(got.s.sort(), ['from-b', 'from-n', 'from-s'])
  assert.deepEqual(got.n.sort(), ['from-b', 'from-n', 'from-s'])
  assert.equal(got.q.length, 30, 'each job to exactly one member cluster-wide')
  assert.equal(new Set(got.q).size, 30)

  // Groups with no member where the message starts: B -> A -> one spoke; S -> A -> N or B.
  const far = { sn: [] as string[], nb: [] as string[] }
  for (const c of [onS, onN]) c.subscribe('far1', { queue: 'g', callback: (_e, m) => far.sn.push(sc.decode(m.data)) })
  for (const c of [onN, onB]) c.subscribe('far2', { queue: 'g', callback: (_e, m) => far.nb.push(sc.decode(m.data)) })
  for (const [x, y] of [[onB, onS], [onB, onN], [onS, onN], [onS, onB]] as const) await flowing(x, y)
  for (let i = 0; i < 20; i++) onB.publish('far1', sc.encode(`f${i}`))
  for (let i = 0; i < 20; i++) onS.publish('far2', sc.encode(`f${i}`))
  await until(() => far.sn.length >= 20 && far.nb.length >= 20, 5000, 'remote-only queue groups served')
  for (const [x, y] of [[onB, onS], [onB, onN], [onS, onN], [onS, onB]] as const) await flowing(x, y)
  assert.equal(far.sn.length, 20, 'B to a group on the spokes: once each')
  assert.equal(new Set(far.sn).size, 20)
  assert.equal(far.nb.length, 20, 'S to a group on N and B: once each')
  assert.equal(new Set(far.nb).size, 20)

  // Monitoring: A is the hub of two leafs, S is a spoke.
  const lzA = await leafz(a.monitor?.url as string)
  assert.equal(lzA.leafnodes, 2)
  assert.ok(lzA.leafs.every((l) => l.is_spoke === false))
  const lzS = await leafz(s.monitor?.url as string)
  assert.equal(lzS.leafnodes, 1)
  assert.equal(lzS.leafs[0]?.is_spoke, true)
  const varzB = (await (await fetch(`${b.monitor?.url}/varz`)).json()) as { leafnodes: number }
  assert.equal(varzB.leafnodes, 0)
})

test('spoke cluster: two routed Switchyard nodes both dial a nats-server hub; each message exactly once', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const ns = await natsLeafServer({ hub: true })
  t.after(() => ns.dispose())
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes.reverse()) await n.close()
  })
  const leafnodes = { remotes: [{ url: `nats-leaf://127.0.0.1:${ns.leafPort}` }], retryDelayMs: 50 }
  const s1 = await startNode({}, { leafnodes })
  nodes.push(s1)
  const s2 = await startNode({ routes: [routeUrl(s1)] }, { leafnodes })
  nodes.push(s2)
  await until(async () => s1.cluster?.routes.size === 1 && s1.leafs?.leafs.size === 1 && s2.leafs?.leafs.size === 1 && (await leafz(ns.monitorUrl)).leafnodes === 2, 10_000, 'routes and both leaf links')
  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  const onH = await nc(ns.port)
  const on1 = await nc(s1.port)
  const on2 = await nc(s2.port)
  const got = { h: [] as string[], one: [] as string[], two: [] as string[] }
  onH.subscribe('fan', { callback: (_e, m) => got.h.push(sc.decode(m.data)) })
  on1.subscribe('fan', { callback: (_e, m) => got.one.push(sc.decode(m.data)) })
  on2.subscribe('fan', { callback: (_e, m) => got.two.push(sc.decode(m.data)) })
  for (const [x, y] of [[onH, on1], [onH, on2], [on1, onH], [on2, onH], [on1, on2], [on2, on1]] as const) await flowing(x, y)
  onH.publish('fan', sc.encode('from-h'))
  on1.publish('fan', sc.encode('from-1'))
  on2.publish('fan', sc.encode('from-2'))
  await until(() => got.h.length >= 3 && got.one.length >= 3 && got.two.length >= 3, 5000, 'every end has every message')
  for (const [x, y] of [[onH, on1], [onH, on2], [on1, onH], [on2, onH], [on1, on2], [on2, on1]] as const) await flowing(x, y)
  assert.deepEqual(got.h.sort(), ['from-1', 'from-2', 'from-h'])
  assert.deepEqual(got.one.sort(), ['from-1', 'from-2', 'from-h'])
  assert.deepEqual(got.two.sort(), ['from-1', 'from-2', 'from-h'])
})
