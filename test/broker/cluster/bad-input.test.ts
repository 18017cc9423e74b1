// Bad input on the route port: each case closes only that connection, with a logged code; the
// node's real routes and clients keep working.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as netConnect, type Socket } from 'node:net'
import { connect, StringCodec, type NatsConnection } from 'nats'
import type { Broker } from '../../../src/broker/index.js'
import { CLUSTER, captureLogs, routeUrl, startNode, until } from './_cluster.js'

const sc = StringCodec()

/** Opens a raw route connection, sends `bytes`, and resolves with what came back once the node closed it. */
async function rawRoute(port: number, bytes: string | Buffer): Promise<string> {
  const sock: Socket = netConnect({ host: '127.0.0.1', port })
  let got = ''
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')))
  sock.on('error', () => {})
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  sock.write(bytes)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    sock.destroy()
  }, 5000)
  await closed
  clearTimeout(timer)
  assert.equal(timedOut, false, 'the node closed the connection')
  return got
}

const peerInfo = (id: string, cluster = CLUSTER): string => `INFO ${JSON.stringify({ server_id: id, cluster, port: 1, host: '127.0.0.1' })}\r\n`

test('bad route input: garbage, oversized line, wrong cluster, wrong password, bad RMSG each close that connection with a code', async (t) => {
  const logs = captureLogs()
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
  })
  const a = await startNode({}, { logger: logs.logger })
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)] })
  nodes.push(b)
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 5000, 'A and B routed')
  const port = a.cluster?.port as number
  const codes = (): unknown[] => logs.lines.filter((l) => l.msg === 'route closed').map((l) => l.code)

  let out = await rawRoute(port, 'HELLO WORLD\r\n')
  assert.match(out, /^INFO \{/)
  assert.match(out, /-ERR 'Unknown Protocol Operation'/)
  await until(() => codes().includes('ERR_BROKER_ROUTE_PROTOCOL'), 2000, 'the protocol code in the log')

  out = await rawRoute(port, `CONNECT {"cluster":"${CLUSTER}","x":"${'x'.repeat(8000)}"}`)
  assert.match(out, /-ERR 'maximum control line exceeded'/)
  await until(() => codes().includes('ERR_BROKER_ROUTE_MAX_CONTROL_LINE'), 2000, 'the control line code')

  out = await rawRoute(port, `CONNECT {"cluster":"someone-else","name":"X"}\r\n`)
  assert.match(out, /-ERR 'Cluster Name Conflict'/)
  await until(() => codes().includes('ERR_BROKER_ROUTE_CLUSTER_NAME'), 2000, 'the cluster name code')

  out = await rawRoute(port, `CONNECT {"cluster":"${CLUSTER}"}\r\n${peerInfo('PEER1')}RMSG $G foo.bar abc\r\n`)
  await until(() => codes().filter((c) => c === 'ERR_BROKER_ROUTE_PROTOCOL').length >= 2, 2000, 'a bad RMSG size closes')

  out = await rawRoute(port, `CONNECT {"cluster":"${CLUSTER}"}\r\n${peerInfo('PEER2')}RMSG $G big ${2 * 1024 * 1024}\r\n`)
  assert.match(out, /-ERR 'Maximum Payload Violation'/)
  await until(() => codes().includes('ERR_BROKER_ROUTE_MAX_PAYLOAD'), 2000, 'the max payload code')

  out = await rawRoute(port, `RS+ $G foo\r\n`)
  assert.match(out, /-ERR 'Authorization Violation'/)
  await until(() => codes().includes('ERR_BROKER_ROUTE_AUTH'), 2000, 'interest before CONNECT')

  // None of it touched the real route or the clients: B to A still flows.
  assert.equal(a.cluster?.routes.size, 1)
  assert.ok(a.cluster?.routes.has(b.serverId))
  const onA = await connect({ servers: `127.0.0.1:${a.port}` })
  conns.push(onA)
  const onB = await connect({ servers: `127.0.0.1:${b.port}` })
  conns.push(onB)
  const got: string[] = []
  onA.subscribe('still.ok', { callback: (_e, m) => got.push(sc.decode(m.data)) })
  await onA.flush()
  await until(() => b.cluster?.interest.routesInterested('still.ok') === 1, 5000, 'interest of A on B')
  onB.publish('still.ok', sc.encode('yes'))
  await until(() => got.length === 1, 5000, 'a message from B to A')
})

test('route authorization: the right password in the route URL joins, a wrong one is refused with a code', async (t) => {
  const logs = captureLogs()
  const nodes: Broker[] = []
  t.after(async () => {
    for (const n of nodes) await n.close()
  })
  const auth = { user: 'route', password: 's3cret' }
  const a = await startNode({ authorization: auth }, { logger: logs.logger })
  nodes.push(a)
  const port = a.cluster?.port as number
  const b = await startNode({ routes: [`nats-route://route:s3cret@127.0.0.1:${port}`] })
  nodes.push(b)
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 5000, 'B joined with the password')

  const out = await rawRoute(port, `CONNECT ${JSON.stringify({ cluster: CLUSTER, user: 'route', pass: 'wrong' })}\r\n`)
  assert.match(out, /"auth_required":true/)
  assert.match(out, /-ERR 'Authorization Violation'/)
  await until(() => logs.lines.some((l) => l.msg === 'route closed' && l.code === 'ERR_BROKER_ROUTE_AUTH'), 2000, 'the auth code in the log')

  // A node dialling with the wrong password never joins, and A's good route stays.
  const logsC = captureLogs()
  const c = await startNode({ routes: [`nats-route://route:nope@127.0.0.1:${port}`] }, { logger: logsC.logger })
  nodes.push(c)
  await until(() => logs.lines.filter((l) => l.code === 'ERR_BROKER_ROUTE_AUTH').length >= 2, 5000, 'C refused')
  // C registers a route on A's INFO and drops it when the refusal arrives, then re-dials: wait for
  // a moment between attempts rather than sampling once. A never registers C.
  await until(() => c.cluster?.routes.size === 0, 5000, 'C holds no route')
  assert.equal(a.cluster?.routes.size, 1)
})

test('route token authorization between Switchyard nodes', async (t) => {
  const a = await startNode({ authorization: { token: 'tok' } })
  t.after(() => a.close())
  const b = await startNode({ authorization: { token: 'tok' }, routes: [routeUrl(a)] })
  t.after(() => b.close())
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 5000, 'B joined with the token')
  const out = await rawRoute(a.cluster?.port as number, `CONNECT ${JSON.stringify({ cluster: CLUSTER, auth_token: 'nope' })}\r\n`)
  assert.match(out, /-ERR 'Authorization Violation'/)
  assert.equal(a.cluster?.routes.size, 1)
})
