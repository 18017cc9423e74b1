// Queue groups across the cluster: each message goes to exactly one member cluster-wide, and a
// member on the publisher's node is preferred (as nats-server does).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { routeUrl, startNatsServer, startNode, until, type ExternalNode } from './_cluster.js'

const sc = StringCodec()

async function mesh(t: { after(fn: () => Promise<void>): void }, withNats: boolean): Promise<{ a: Broker; ports: number[]; nc: (port: number) => Promise<NatsConnection> }> {
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
  let third: number
  if (withNats) {
    ns = await startNatsServer([routeUrl(a)])
    third = ns.port
  } else {
    const c = await startNode({ routes: [routeUrl(a)] })
    nodes.push(c)
    third = c.port
  }
  await until(() => a.cluster?.routes.size === 2 && b.cluster?.routes.size === 2, 15_000, 'a full mesh')
  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  return { a, ports: [a.port, b.port, third], nc }
}

for (const withNats of [false, true]) {
  const label = withNats ? '2 Switchyard + nats-server' : '3 Switchyard'
  test(`${label}: a queue group delivers each message to exactly one member cluster-wide, local members first`, { skip: withNats && natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
    const { a, ports, nc } = await mesh(t, withNats)
    const [, pb, pc] = ports as [number, number, number]
    const got = new Map<string, string[]>()
    const members: NatsConnection[] = []
    // Any duplicate would already be here: A's routes have answered a PING sent after the last
    // message (so the peers have handed it on), and every member's connection has round-tripped.
    const settled = async (): Promise<void> => {
      await a.cluster?.sync()
      for (const m of members) await m.flush()
    }
    const member = async (port: number, name: string): Promise<NatsConnection> => {
      const c = await nc(port)
      members.push(c)
      got.set(name, [])
      c.subscribe('jobs.run', { queue: 'workers', callback: (_e, m) => got.get(name)?.push(sc.decode(m.data)) })
      await c.flush()
      return c
    }
    await member(pb, 'b1')
    await member(pb, 'b2')
    await member(pc, 'c1')
    await until(() => a.cluster?.interest.routesInterested('jobs.run') === 2, 5000, 'queue interest of B and C on A')
    const pub = await nc(a.port)
    const N = 200
    for (let i = 0; i < N; i++) pub.publish('jobs.run', sc.encode(String(i)))
    await pub.flush()
    const total = (): number => [...got.values()].reduce((s, l) => s + l.length, 0)
    await until(() => total() >= N, 5000, 'all jobs delivered')
    await settled()
    const all = [...got.values()].flat().sort((x, y) => Number(x) - Number(y))
    assert.deepEqual(all, Array.from({ length: N }, (_, i) => String(i)), 'every job exactly once')
    assert.ok((got.get('c1')?.length ?? 0) > 0 && (got.get('b1')?.length ?? 0) + (got.get('b2')?.length ?? 0) > 0, `both nodes served: ${[...got].map(([k, v]) => `${k}=${v.length}`).join(' ')}`)

    // A member on A itself takes everything published on A.
    await member(a.port, 'a1')
    for (const l of got.values()) l.length = 0
    for (let i = 0; i < 50; i++) pub.publish('jobs.run', sc.encode(String(i)))
    await pub.flush()
    await until(() => (got.get('a1')?.length ?? 0) === 50, 5000, 'the local member took all')
    await settled()
    assert.equal(total(), 50)
  })
}

test('a publisher with echo off that is the only local member of a group: the group is served on another node', async (t) => {
  const a = await startNode({})
  t.after(() => a.close())
  const b = await startNode({ routes: [routeUrl(a)] })
  t.after(() => b.close())
  await until(() => a.cluster?.routes.size === 1, 5000, 'A and B routed')
  const self = await connect({ servers: `127.0.0.1:${a.port}`, noEcho: true })
  t.after(() => self.close())
  const remote = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => remote.close())
  let mine = 0
  const got: string[] = []
  self.subscribe('echo.job', { queue: 'w', callback: () => mine++ })
  remote.subscribe('echo.job', { queue: 'w', callback: (_e, m) => got.push(sc.decode(m.data)) })
  await self.flush()
  await remote.flush()
  await until(() => a.cluster?.interest.routesInterested('echo.job') === 1, 5000, 'B member known on A')
  self.publish('echo.job', sc.encode('x'))
  await self.flush()
  await until(() => got.length === 1, 5000, 'the member on B got it')
  assert.equal(mine, 0)
})
