// Behaviour of our broker beyond the shared conformance suite: the embedded API, slow consumers,
// the drop policy, isolation of bad clients, monitoring and option validation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, headers, StringCodec, type Msg } from 'nats'
import { startBroker, MsgHeaders, BrokerErrorCodes, resolveOptions, type BrokerMsg } from '../../src/broker/index.js'
import { RawClient } from './_raw.js'

const sc = StringCodec()
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition')
    await delay(10)
  }
}

test('embedded API: in-process and network subscribers see each other, with headers', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(() => b.close())
  assert.equal(b.monitor, undefined)
  const nc = await connect({ servers: b.url })
  t.after(() => nc.close())

  const inproc: { subject: string; reply: string; data: string; h: string | undefined }[] = []
  b.subscribe('net.>', {}, (m: BrokerMsg) => inproc.push({ subject: m.subject, reply: m.reply, data: sc.decode(m.data), h: m.headers?.get('X') }))
  const h = headers()
  h.set('X', 'from-net')
  nc.publish('net.a', sc.encode('one'), { headers: h, reply: 'r.1' })
  await nc.flush()
  await until(() => inproc.length === 1)
  assert.deepEqual(inproc[0], { subject: 'net.a', reply: 'r.1', data: 'one', h: 'from-net' })

  const got: Msg[] = []
  const sub = nc.subscribe('emb.*')
  void (async () => {
    for await (const m of sub) got.push(m)
  })()
  await nc.flush()
  assert.equal(b.hasInterest('emb.x'), true)
  assert.equal(b.hasInterest('other'), false)
  b.publish('emb.x', 'plain')
  b.publish('emb.y', new Uint8Array([1, 2, 3]), { headers: new MsgHeaders().set('K', 'v'), reply: 'back' })
  await until(() => got.length === 2)
  assert.equal(sc.decode(got[0]!.data), 'plain')
  assert.deepEqual([...got[1]!.data], [1, 2, 3])
  assert.equal(got[1]!.headers?.get('K'), 'v')
  assert.equal(got[1]!.reply, 'back')
})

test('embedded API: request/reply served in-process, queue groups across both kinds, max', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(() => b.close())
  const nc = await connect({ servers: b.url })
  t.after(() => nc.close())
  b.subscribe('svc', {}, (m) => b.publish(m.reply, `re:${sc.decode(m.data)}`))
  const r = await nc.request('svc', sc.encode('q'), { timeout: 2000 })
  assert.equal(sc.decode(r.data), 're:q')

  let inq = 0
  let limited = 0
  b.subscribe('work', { queue: 'g' }, () => inq++)
  b.subscribe('work', { max: 2 }, () => limited++)
  let netq = 0
  nc.subscribe('work', { queue: 'g', callback: () => netq++ })
  await nc.flush()
  for (let i = 0; i < 100; i++) b.publish('work')
  await until(() => inq + netq === 100)
  assert.ok(inq > 10 && netq > 10, `spread ${inq}/${netq}`)
  assert.equal(limited, 2)

  const s = b.subscribe('gone', {}, () => assert.fail('unsubscribed handler called'))
  s.unsubscribe()
  b.publish('gone')
  // A handler that throws does not break delivery to others.
  let after = 0
  b.subscribe('boom', {}, () => {
    throw new Error('handler bug')
  })
  b.subscribe('boom', {}, () => after++)
  b.publish('boom')
  assert.equal(after, 1)
})

test('embedded API errors carry stable codes', async () => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, maxPayloadBytes: 10 })
  assert.throws(() => b.publish('a.*'), (e: { code: string }) => e.code === BrokerErrorCodes.BAD_SUBJECT)
  assert.throws(() => b.subscribe('a..b', {}, () => {}), (e: { code: string }) => e.code === BrokerErrorCodes.BAD_SUBJECT)
  assert.throws(() => b.publish('a', 'x'.repeat(11)), (e: { code: string }) => e.code === BrokerErrorCodes.MAX_PAYLOAD)
  await assert.rejects(startBroker({ host: '127.0.0.1', port: b.port, monitorPort: false }), (e: { code: string }) => e.code === BrokerErrorCodes.LISTEN)
  await b.close()
  assert.throws(() => b.publish('a'), (e: { code: string }) => e.code === BrokerErrorCodes.CLOSED)
  assert.throws(() => resolveOptions({ port: 70000 }), (e: { code: string }) => e.code === BrokerErrorCodes.OPTIONS)
  assert.throws(() => resolveOptions({ token: 't', users: [{ user: 'u', password: 'p' }] }), (e: { code: string }) => e.code === BrokerErrorCodes.OPTIONS)
})

async function slowConsumerSetup(dropSubjects: string[]) {
  const b = await startBroker({ host: '127.0.0.1', port: 0, maxPendingBytes: 4 * 1024 * 1024, dropSubjects })
  const slow = await RawClient.open(b.port)
  slow.socket.write('CONNECT {"verbose":false}\r\nSUB flood.> 1\r\nPING\r\n')
  await slow.waitFor((o) => o.includes('PONG'))
  slow.socket.pause() // stops reading: the kernel buffers fill, then our outbound queue grows
  const fast = await connect({ servers: b.url })
  let fastGot = 0
  fast.subscribe('flood.>', { callback: () => fastGot++ })
  await fast.flush()
  const pub = await connect({ servers: b.url })
  return { b, slow, fast, pub, fastGot: () => fastGot }
}

test('slow consumer is cut off with -ERR, counted; others and the publisher keep going', async (t) => {
  const { b, slow, fast, pub, fastGot } = await slowConsumerSetup([])
  t.after(async () => {
    slow.close()
    await fast.close()
    await pub.close()
    await b.close()
  })
  const payload = new Uint8Array(16 * 1024)
  const N = 2000 // 32 MiB: well past loopback socket buffers plus 4 MiB pending
  for (let i = 0; i < N; i++) {
    pub.publish('flood.x', payload)
    if (i % 20 === 0) await pub.flush()
  }
  await pub.flush()
  await until(() => fastGot() === N, 20_000)
  await until(() => b.stats.slowConsumers === 1)
  assert.equal(b.clients.size, 2, 'the slow client was disconnected')
  const varz = (await (await fetch(`${b.monitor!.url}/varz`)).json()) as { slow_consumers: number }
  assert.equal(varz.slow_consumers, 1)
  slow.socket.resume()
  await until(() => slow.closed)
  // The -ERR is queued behind megabytes the client never read; if the server got to flush it, it is last.
  const tail = slow.out.slice(-64)
  assert.ok(!tail.includes('-ERR') || tail.endsWith("-ERR 'Slow Consumer'\r\n"), 'the last thing sent is the slow-consumer error')
})

test('drop policy: a slow subscription on a drop subject loses messages but stays connected', async (t) => {
  const { b, slow, fast, pub, fastGot } = await slowConsumerSetup(['flood.>'])
  t.after(async () => {
    slow.close()
    await fast.close()
    await pub.close()
    await b.close()
  })
  const payload = new Uint8Array(16 * 1024)
  const N = 2000
  for (let i = 0; i < N; i++) {
    pub.publish('flood.x', payload)
    if (i % 20 === 0) await pub.flush()
  }
  await pub.flush()
  await until(() => fastGot() === N, 20_000)
  assert.equal(b.stats.slowConsumers, 0)
  assert.equal(b.clients.size, 3)
  const client = [...b.clients.values()].find((c) => c.dropped > 0)
  assert.ok(client !== undefined, 'some messages were dropped for the slow subscription')
})

test('a client sending garbage is closed; other clients are unaffected', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(() => b.close())
  const good = await connect({ servers: b.url })
  t.after(() => good.close())
  const got: Msg[] = []
  good.subscribe('still', { callback: (_e, m) => got.push(m) })
  await good.flush()
  const bad: RawClient[] = []
  for (const junk of ['\x00\x01\x02garbage\r\n', 'PUB x 99999999999\r\n', 'SUB a b c d e\r\n', `CONNECT ${'x'.repeat(10000)}`]) {
    const c = await RawClient.open(b.port)
    c.socket.write(junk)
    bad.push(c)
  }
  for (const c of bad) await until(() => c.closed)
  good.publish('still', sc.encode('alive'))
  await good.flush()
  await until(() => got.length === 1)
  assert.equal(b.clients.size, 1)
})

test('/metrics exposes broker counters in Prometheus text', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0 })
  t.after(() => b.close())
  b.subscribe('m', {}, () => {})
  b.publish('m', 'x')
  const text = await (await fetch(`${b.monitor!.url}/metrics`)).text()
  assert.match(text, /switchyard_broker_in_msgs 1/)
  assert.match(text, /switchyard_broker_subscriptions 1/)
  const subsz = (await (await fetch(`${b.monitor!.url}/subsz?subs=1`)).json()) as { subscriptions_list: { subject: string }[] }
  assert.deepEqual(subsz.subscriptions_list.map((s) => s.subject), ['m'])
})

test('writes are coalesced: many messages published in one chunk reach a subscriber in few writes', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(() => b.close())
  const sub = await RawClient.open(b.port)
  t.after(() => sub.close())
  sub.socket.write('CONNECT {"verbose":false}\r\nSUB c 1\r\nPING\r\n')
  await sub.waitFor((o) => o.includes('PONG'))
  const client = [...b.clients.values()][0]!
  let writes = 0
  const orig = client.transport.write.bind(client.transport)
  client.transport.write = (chunks: Buffer[]) => {
    writes++
    orig(chunks)
  }
  const pub = await RawClient.open(b.port)
  t.after(() => pub.close())
  pub.socket.write(`CONNECT {"verbose":false}\r\n${'PUB c 1\r\nx\r\n'.repeat(500)}PING\r\n`)
  await pub.waitFor((o) => o.includes('PONG'))
  await sub.waitFor((o) => (o.match(/MSG c 1 1/g) ?? []).length === 500)
  assert.ok(writes >= 1 && writes <= 5, `${writes} writes for 500 messages`)
})

test('WebSocket over TLS (wss) carries the protocol in binary frames', async (t) => {
  const { generate } = await import('selfsigned')
  const { WebSocket } = await import('ws')
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' } as Parameters<typeof generate>[1])
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, websocket: { host: '127.0.0.1', port: 0, tls: { cert: pems.cert, key: pems.private } } })
  t.after(() => b.close())
  const ws = new WebSocket(`wss://127.0.0.1:${b.wsPort}`, { rejectUnauthorized: false })
  t.after(() => ws.terminate())
  let text = ''
  let binary = true
  ws.on('message', (d: Buffer, isBinary: boolean) => {
    text += d.toString()
    binary &&= isBinary
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.send(Buffer.from('CONNECT {"verbose":false}\r\nSUB w 1\r\nPUB w 2\r\nhi\r\nPING\r\n'))
  await until(() => text.includes('PONG'))
  assert.match(text, /^INFO \{.*"headers":true.*\} \r\nMSG w 1 2\r\nhi\r\nPONG\r\n$/)
  assert.equal(binary, true, 'server frames are binary')
})

test('write deadline: a client whose socket stays undrained is cut off even under max_pending', async (t) => {
  const b = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, writeDeadlineMs: 300 })
  t.after(() => b.close())
  const slow = await RawClient.open(b.port)
  t.after(() => slow.close())
  slow.socket.write('CONNECT {"verbose":false}\r\nSUB dl 1\r\nPING\r\n')
  await slow.waitFor((o) => o.includes('PONG'))
  slow.socket.pause()
  const pub = await connect({ servers: b.url })
  t.after(() => pub.close())
  const payload = new Uint8Array(64 * 1024)
  // 16 MiB: far past the loopback socket buffers, far below the 64 MiB max_pending.
  for (let i = 0; i < 256; i++) {
    pub.publish('dl', payload)
    if (i % 16 === 0) await pub.flush()
  }
  await pub.flush()
  await until(() => b.stats.slowConsumers === 1, 10_000)
  assert.equal(b.clients.size, 1, 'only the publisher is left')
})
