// Producer flow control under bursts (issue #16): a publisher that outruns its subscribers is
// paused briefly instead of every subscriber being cut; a subscriber that stopped reading is cut
// alone after write_deadline; /varz and /connz tell stalls from real cuts. Subscribers and the
// publisher are stock `nats` clients in child processes (_burst-client.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as netConnect } from 'node:net'
import { connect } from 'nats'
import { startBroker, type Broker } from '../../src/broker/index.js'
import { BurstChild, until } from './_burst.js'

interface Varz {
  slow_consumers: number
  stalled_clients: number
}
interface ConnzEntry {
  cid: number
  name: string
  stalls?: number
  stalled?: boolean
  stalled_on?: number
}

const KiB = 1024
const getJson = async <T>(b: Broker, path: string): Promise<T> => (await (await fetch(`${b.monitor!.url}${path}`)).json()) as T

test('16 KiB burst: 1 publisher, 10 subscribers, 20,000 messages, flush every 1,000: everything arrives, nobody is cut', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0 })
  const children: BurstChild[] = []
  t.after(async () => {
    for (const c of children) await c.stop()
    await b.close()
  })
  const N = 20_000
  const subs = await BurstChild.subscribers(b.port, 'burst', 10, 'sub')
  children.push(subs)
  const connectionsBefore = b.stats.totalConnections
  const pub = BurstChild.publisher(b.port, 'burst', N, 16 * KiB, 1_000)
  children.push(pub)
  // Bounded: 3.2 GB of deliveries on a shared 2-core machine; nats-server takes ~3 s when idle.
  await until(() => subs.total === N * 10 || subs.closed.size > 0, 240_000, 'all deliveries')
  assert.deepEqual(subs.closed, new Set(), 'no subscriber was disconnected')
  assert.deepEqual(subs.counts, new Array<number>(10).fill(N))
  const varz = await getJson<Varz>(b, '/varz')
  assert.equal(varz.slow_consumers, 0)
  assert.equal(b.stats.totalConnections, connectionsBefore + 1, 'only the publisher connected meanwhile (no reconnects)')
  assert.equal(typeof varz.stalled_clients, 'number')
})

test('a SIGSTOPped subscriber is cut alone within write_deadline + 1 s; the other 9 get everything; /varz counts the one cut', async (t) => {
  const deadlineMs = 2_000
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, writeDeadlineMs: deadlineMs })
  const children: BurstChild[] = []
  t.after(async () => {
    for (const c of children) await c.stop()
    await b.close()
  })
  const N = 8_000
  const nine = await BurstChild.subscribers(b.port, 'burst', 9, 'ok')
  children.push(nine)
  const stopped = await BurstChild.subscribers(b.port, 'burst', 1, 'stopped')
  children.push(stopped)
  const victim = [...b.clients.values()].find((c) => c.name === 'stopped-0')
  assert.ok(victim !== undefined)
  stopped.signal('SIGSTOP')

  const pub = BurstChild.publisher(b.port, 'burst', N, 16 * KiB, 1_000)
  children.push(pub)
  // The moment the kernel first refuses bytes for the stopped process (its socket buffers are
  // full): from then on it makes no progress (autotuning may still grow the buffers a little,
  // which only makes this moment earlier than the real one).
  await until(() => victim.transport.pendingBytes > 0 || victim.closed, 60_000, 'the stopped subscriber\'s socket to fill')
  const stuckAt = Date.now()
  await until(() => victim.closed, deadlineMs + 5_000, 'the stopped subscriber to be cut')
  assert.equal(victim.closed, true, 'the stopped subscriber was cut')
  const closed = b.closedConnections.find((c) => c.cid === victim.cid)
  assert.equal(closed?.reason, 'slow consumer')
  const cutAfter = (closed as { stop: Date }).stop.getTime() - stuckAt
  assert.ok(cutAfter <= deadlineMs + 1_000, `cut ${cutAfter} ms after it stopped draining`)
  t.diagnostic(`stopped subscriber cut ${cutAfter} ms after its socket filled (write_deadline ${deadlineMs} ms)`)

  await until(() => nine.total === N * 9 || nine.closed.size > 0, 180_000, 'deliveries to the 9 others')
  assert.deepEqual(nine.closed, new Set(), `none of the 9 was disconnected: ${JSON.stringify(b.closedConnections.map((c) => [c.name, c.reason, c.outMsgs]))}`)
  assert.deepEqual(nine.counts, new Array<number>(9).fill(N))

  const varz = await getJson<Varz>(b, '/varz')
  assert.equal(varz.slow_consumers, 1, 'one real cut')
  assert.equal(b.closedConnections.filter((c) => c.reason === 'slow consumer').length, 1)
})

test('/connz shows a paused publisher and the subscriber it waits for; /varz counts stalls apart from cuts', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, maxPendingBytes: 8 * 1024 * KiB, writeDeadlineMs: 60_000 })
  const children: BurstChild[] = []
  t.after(async () => {
    for (const c of children) await c.stop()
    await b.close()
  })
  const healthy = await BurstChild.subscribers(b.port, 'stall', 1, 'healthy')
  children.push(healthy)
  const stopped = await BurstChild.subscribers(b.port, 'stall', 1, 'stopped')
  children.push(stopped)
  const victim = [...b.clients.values()].find((c) => c.name === 'stopped-0')
  assert.ok(victim !== undefined)
  stopped.signal('SIGSTOP')
  const N = 4_000 // 64 MiB: far past max_pending, so the stopped subscriber is cut at max_pending
  const pub = BurstChild.publisher(b.port, 'stall', N, 16 * KiB, 100)
  children.push(pub)
  let seen: ConnzEntry | undefined
  const end = Date.now() + 60_000
  while (seen === undefined && !victim.closed && Date.now() < end) {
    const connz = await getJson<{ connections: ConnzEntry[] }>(b, '/connz')
    seen = connz.connections.find((c) => c.name === 'burst-pub' && c.stalled === true)
    if (seen === undefined) await new Promise((r) => setTimeout(r, 2))
  }
  assert.ok(seen !== undefined, 'a /connz sample caught the publisher paused')
  assert.equal(seen.stalled_on, victim.cid, 'it names the subscriber the publisher waits for')
  assert.ok((seen.stalls ?? 0) > 0)
  await until(() => victim.closed, 60_000, 'the stopped subscriber to be cut')
  await until(() => healthy.total === N || healthy.closed.size > 0, 120_000, 'deliveries to the healthy subscriber')
  assert.equal(healthy.total, N)
  const varz = await getJson<Varz>(b, '/varz')
  assert.equal(varz.slow_consumers, 1, 'one real cut')
  assert.ok(varz.stalled_clients >= (seen.stalls ?? 0), 'stalls are counted on their own')
})

test('in-process publishers are never paused: a subscriber over max_pending is cut (or dropped on drop_subjects)', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, maxPendingBytes: 2 * 1024 * KiB, dropSubjects: ['drop.>'] })
  t.after(() => b.close())
  const sock = netConnect(b.port, '127.0.0.1')
  t.after(() => sock.destroy())
  sock.on('error', () => {})
  let text = ''
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
  sock.write('CONNECT {"verbose":false}\r\nSUB drop.x 1\r\nSUB cut.x 2\r\nPING\r\n')
  await until(() => text.includes('PONG'), 5_000, 'PONG')
  sock.pause()
  const payload = new Uint8Array(16 * KiB)
  // Synchronous: 8 MiB queued in one turn, four times max_pending; publish returns every time.
  for (let i = 0; i < 512; i++) b.publish('drop.x', payload)
  const client = [...b.clients.values()][0]!
  assert.equal(client.closed, false, 'drop subject: still connected')
  assert.ok(client.dropped > 0)
  for (let i = 0; i < 512; i++) b.publish('cut.x', payload)
  assert.equal(client.closed, true, 'over max_pending without drop: cut at once')
  const varz = await getJson<Varz>(b, '/varz')
  assert.equal(varz.slow_consumers, 1)
  assert.equal(varz.stalled_clients, 0, 'nothing to pause for an in-process publisher')
})

test('a subscriber that is behind but draining is not cut by write_deadline', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, writeDeadlineMs: 1_000 })
  t.after(() => b.close())
  const sock = netConnect(b.port, '127.0.0.1')
  sock.on('error', () => {})
  let bytes = 0
  let closed = false
  sock.on('close', () => (closed = true))
  // Paused mode: reads what the stream has buffered (at most a chunk or so) every 10 ms, so it is
  // always behind the publisher and never idle.
  const reader = setInterval(() => {
    let d: Buffer | null
    while ((d = sock.read() as Buffer | null) !== null) bytes += d.length
  }, 10)
  sock.write('CONNECT {"verbose":false}\r\nSUB slow 1\r\nPING\r\n')
  await until(() => bytes > 0, 5_000, 'INFO')
  t.after(() => {
    clearInterval(reader)
    sock.destroy()
  })
  const pub = await connect({ port: b.port })
  t.after(() => pub.close())
  const N = 1_000 // 16 MiB: well past the loopback socket buffers
  const payload = new Uint8Array(16 * KiB)
  for (let i = 0; i < N; i++) {
    pub.publish('slow', payload)
    if (i % 100 === 99) await pub.flush()
  }
  await pub.flush()
  await until(() => bytes >= N * 16 * KiB || closed, 120_000, 'the slow reader to catch up')
  assert.equal(closed, false, 'not cut while it kept reading')
  assert.equal(b.stats.slowConsumers, 0)
})

test('drop_subjects keeps its meaning: a slow subscription there drops and never pauses the publisher', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, maxPendingBytes: 4 * 1024 * KiB, dropSubjects: ['flood.>'] })
  t.after(() => b.close())
  const sock = netConnect(b.port, '127.0.0.1')
  t.after(() => sock.destroy())
  sock.on('error', () => {})
  let text = ''
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
  sock.write('CONNECT {"verbose":false}\r\nSUB flood.x 1\r\nPING\r\n')
  await until(() => text.includes('PONG'), 5_000, 'PONG')
  sock.pause()
  const pub = await connect({ port: b.port })
  t.after(() => pub.close())
  const payload = new Uint8Array(16 * KiB)
  for (let i = 0; i < 2_000; i++) {
    pub.publish('flood.x', payload)
    if (i % 100 === 99) await pub.flush()
  }
  await pub.flush()
  const slow = [...b.clients.values()].find((c) => c.subs.size === 1)
  assert.ok(slow !== undefined && slow.dropped > 0, 'messages were dropped for the slow subscription')
  const varz = await getJson<Varz>(b, '/varz')
  assert.equal(varz.stalled_clients, 0)
  assert.equal(varz.slow_consumers, 0)
})
