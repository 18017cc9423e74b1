// TLS on routes: Switchyard nodes and nats-server 2.9 in one cluster whose routes all use TLS
// (handshake first, certificates verified both ways, as nats-server requires for routes), and the
// refusals: a node without TLS, a certificate from another CA, a handshake that never starts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { generate } from 'selfsigned'
import type { Broker } from '../../../src/broker/index.js'
import { natsServerPath } from '../_targets.js'
import { captureLogs, routez, routeUrl, startNatsServer, startNode, until, type ExternalNode } from './_cluster.js'

const sc = StringCodec()

/** One self-signed certificate that is its own CA, valid for 127.0.0.1 as server and as client. */
async function clusterCert(): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'sy-route' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  } as Parameters<typeof generate>[1])
  return { cert: pems.cert, key: pems.private }
}

test('routes over TLS: 2 Switchyard nodes + nats-server mesh, messages flow every way; /routez still lists all', { skip: natsServerPath() === undefined ? 'nats-server is not installed' : false }, async (t) => {
  const pem = await clusterCert()
  const dir = mkdtempSync(join(tmpdir(), 'sy-route-tls-'))
  writeFileSync(join(dir, 'cert.pem'), pem.cert)
  writeFileSync(join(dir, 'key.pem'), pem.key)
  const tls = { cert: pem.cert, key: pem.key, ca: pem.cert }
  const nodes: Broker[] = []
  const conns: NatsConnection[] = []
  let ns: ExternalNode | undefined
  t.after(async () => {
    for (const c of conns) await c.close().catch(() => {})
    for (const n of nodes) await n.close()
    await ns?.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const a = await startNode({ tls })
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)], tls })
  nodes.push(b)
  const certFile = join(dir, 'cert.pem')
  ns = await startNatsServer([routeUrl(a)], undefined, `  tls { cert_file: ${JSON.stringify(certFile)}, key_file: ${JSON.stringify(join(dir, 'key.pem'))}, ca_file: ${JSON.stringify(certFile)}, timeout: 2 }`)
  const natsNode = ns
  await until(async () => a.cluster?.routes.size === 2 && b.cluster?.routes.size === 2 && (await routez(natsNode.monitorUrl)).num_routes === 2, 15_000, 'a full TLS mesh of 3')

  const nc = async (port: number): Promise<NatsConnection> => {
    const x = await connect({ servers: `127.0.0.1:${port}` })
    conns.push(x)
    return x
  }
  const onA = await nc(a.port)
  const onB = await nc(b.port)
  const onN = await nc(natsNode.port)
  const got: Record<string, string[]> = { a: [], b: [], n: [] }
  for (const [name, c] of [['a', onA], ['b', onB], ['n', onN]] as const) {
    const sub = c.subscribe('tls.>')
    void (async () => {
      for await (const m of sub) got[name]?.push(sc.decode(m.data))
    })()
    await c.flush()
  }
  await until(() => a.cluster?.interest.routesInterested('tls.x') === 2 && b.cluster?.interest.routesInterested('tls.x') === 2, 5000, 'interest over TLS routes')
  onA.publish('tls.1', sc.encode('from-a'))
  onN.publish('tls.2', sc.encode('from-n'))
  onB.publish('tls.3', sc.encode('from-b'))
  await until(() => Object.values(got).every((l) => l.length === 3), 5000, 'each message on every node')
  for (const l of Object.values(got)) assert.deepEqual([...l].sort(), ['from-a', 'from-b', 'from-n'])
  // Request/reply across a TLS route.
  onN.subscribe('svc.echo', { callback: (_e, m) => m.respond(m.data) })
  await onN.flush()
  await until(() => a.cluster?.interest.routesInterested('svc.echo') === 1, 5000, 'service interest on A')
  assert.equal(sc.decode((await onA.request('svc.echo', sc.encode('ping'), { timeout: 2000 })).data), 'ping')
  // Every registered route really is TLS.
  for (const n of [a, b]) for (const r of n.cluster?.routes.values() ?? []) assert.equal(r.tls, true)
})

test('route TLS refusals: a plaintext node, a certificate from another CA and a silent TCP peer never join; the mesh keeps working', async (t) => {
  const good = await clusterCert()
  const other = await clusterCert()
  const logs = captureLogs()
  const nodes: Broker[] = []
  t.after(async () => {
    for (const n of nodes) await n.close()
  })
  const a = await startNode({ tls: { cert: good.cert, key: good.key, ca: good.cert, timeoutMs: 300 } }, { logger: logs.logger })
  nodes.push(a)
  const b = await startNode({ routes: [routeUrl(a)], tls: { cert: good.cert, key: good.key, ca: good.cert } })
  nodes.push(b)
  await until(() => a.cluster?.routes.size === 1 && b.cluster?.routes.size === 1, 10_000, 'A and B over TLS')

  const plain = await startNode({ routes: [routeUrl(a)] })
  nodes.push(plain)
  const foreignLogs = captureLogs()
  const foreign = await startNode({ routes: [routeUrl(a)], tls: { cert: other.cert, key: other.key, ca: other.cert } }, { logger: foreignLogs.logger })
  nodes.push(foreign)
  const silent = netConnect({ host: '127.0.0.1', port: a.cluster?.port ?? 0 })
  t.after(() => silent.destroy())
  const silentClosed = new Promise<void>((resolve) => silent.once('close', () => resolve()))
  const tlsLines = (c: typeof logs) => c.lines.filter((l) => l.code === 'ERR_BROKER_ROUTE_TLS')
  await until(
    () => tlsLines(logs).some((l) => /timeout/i.test(String(l.err))) && tlsLines(logs).filter((l) => !/timeout/i.test(String(l.err))).length >= 2 && tlsLines(foreignLogs).length >= 1,
    10_000,
    'the silent peer timed out, the plaintext and foreign dials refused on A, the foreign node told why',
  )
  await silentClosed
  assert.equal(plain.cluster?.routes.size, 0)
  assert.equal(foreign.cluster?.routes.size, 0)
  assert.equal(a.cluster?.routes.size, 1, 'only B is a route of A')

  // A and B still carry messages.
  const ca = await connect({ servers: `127.0.0.1:${a.port}` })
  const cb = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(async () => {
    await ca.close()
    await cb.close()
  })
  const sub = cb.subscribe('still.up', { max: 1 })
  await cb.flush()
  await until(() => a.cluster?.interest.routesInterested('still.up') === 1, 5000, 'interest of B on A')
  ca.publish('still.up', sc.encode('yes'))
  for await (const m of sub) assert.equal(sc.decode(m.data), 'yes')
})

test('cluster.tls is checked at start: unknown keys and missing PEM text are refused', async () => {
  const pem = await clusterCert()
  await assert.rejects(startNode({ tls: { cert: pem.cert, key: pem.key, verfy: false } as never }), (e: { code?: string }) => e.code === 'ERR_BROKER_OPTIONS')
  await assert.rejects(startNode({ tls: { cert: '', key: pem.key } }), (e: { code?: string }) => e.code === 'ERR_BROKER_OPTIONS')
})
