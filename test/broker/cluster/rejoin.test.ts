// A node restarted on the same ports rejoins (its peers re-dial with backoff), and a route that
// goes silent (SIGSTOP) is detected by PING and dropped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { freePort } from '../../_lib/net.js'
import { captureLogs, routeUrl, startNode, startNodeProcess, until, type ExternalNode } from './_cluster.js'

const sc = StringCodec()

test('a node restarted on the same ports rejoins, and messages flow to it again', async (t) => {
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
  })
  const [port, clusterPort] = [await freePort(), await freePort()]
  let a = await startNode({ port: clusterPort }, { port })
  const b = await startNode({ routes: [routeUrl(a)] })
  nodes.push(b)
  await until(() => b.cluster?.routes.size === 1, 5000, 'B routed to A')
  const firstId = a.serverId
  await a.close()
  await until(() => b.cluster?.routes.size === 0, 5000, 'B saw A go')
  a = await startNode({ port: clusterPort }, { port })
  nodes.push(a)
  await until(() => b.cluster?.routes.size === 1 && a.cluster?.routes.size === 1, 10_000, 'B re-dialled the restarted A')
  assert.notEqual(a.serverId, firstId)
  assert.ok(b.cluster?.routes.has(a.serverId))
  const onA = await connect({ servers: `127.0.0.1:${a.port}` })
  const onB = await connect({ servers: `127.0.0.1:${b.port}` })
  conns.push(onA, onB)
  const got: string[] = []
  onA.subscribe('back.again', { callback: (_e, m) => got.push(sc.decode(m.data)) })
  await onA.flush()
  await until(() => b.cluster?.interest.routesInterested('back.again') === 1, 5000, 'A interest on B')
  onB.publish('back.again', sc.encode('hello'))
  await until(() => got.length === 1, 5000, 'the message on the restarted node')
})

test('a route that goes silent (SIGSTOP) is dropped after its PINGs go unanswered', async (t) => {
  const logs = captureLogs()
  let c: ExternalNode | undefined
  const a = await startNode({}, { pingIntervalMs: 100, maxPingsOut: 2, logger: logs.logger })
  t.after(async () => {
    if (c !== undefined) {
      c.child.kill('SIGCONT')
      await c.stop()
    }
    await a.close()
  })
  c = await startNodeProcess([routeUrl(a)])
  await until(() => a.cluster?.routes.size === 1, 15_000, 'C routed to A')
  c.child.kill('SIGSTOP')
  await until(() => a.cluster?.routes.size === 0, 5000, 'A dropped the silent route')
  assert.ok(logs.lines.some((l) => l.msg === 'route closed' && l.code === 'ERR_BROKER_ROUTE_STALE'))
})
