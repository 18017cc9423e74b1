// The dashboard's node table is fed from a real cluster: this node, its route peers (with TLS or
// not) and its leafnode links, with the interest each announced.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'nats'
import { startBroker } from '../../src/broker/index.js'
import { brokerSnapshot } from '../../src/cli/dashboard-sources.js'

test('brokerSnapshot lists this node, its routes and its leafnode links; none without a cluster', async (t) => {
  const cluster = (port: number) => ({ name: 'dash', host: '127.0.0.1', port, retryDelayMs: 50 })
  const a = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, serverName: 'node-a', cluster: cluster(0), leafnodes: { host: '127.0.0.1', port: 0 } })
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, serverName: 'node-b', cluster: { ...cluster(0), routes: [`nats-route://127.0.0.1:${a.cluster?.port}`] } })
  const edge = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, serverName: 'edge', leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${a.leafs?.port}` }] } })
  const alone = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(async () => {
    for (const x of [edge, b, a, alone]) await x.close()
  })
  const nc = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => nc.close())
  nc.subscribe('dash.one')
  nc.subscribe('dash.two')
  await nc.flush()
  const deadline = Date.now() + 10_000
  const snap = () => brokerSnapshot(a).cluster
  while (Date.now() < deadline && !(snap()?.nodes.length === 3 && snap()?.nodes.find((n) => n.kind === 'route')?.subscriptions === 2)) await new Promise((r) => setTimeout(r, 20))
  const c = snap()
  assert.equal(c?.name, 'dash')
  assert.deepEqual(c?.nodes.map((n) => [n.name, n.kind]), [['node-a', 'self'], ['node-b', 'route'], ['edge', 'leaf']])
  assert.equal(c?.nodes[1]?.subscriptions, 2)
  assert.equal(c?.nodes[1]?.tls, false)
  assert.equal(brokerSnapshot(alone).cluster, undefined)
})
