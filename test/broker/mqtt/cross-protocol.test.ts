// NATS <-> MQTT on one broker: a NATS publish on a.b reaches an MQTT subscriber on a/b and the
// other way round, headers <-> 5.0 user properties, reply <-> response topic, and $share groups
// and NATS queue groups on one subject delivering each message exactly once between them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, headers as natsHeaders, type Msg } from 'nats'
import { client, collect, mqttBroker, until } from './_util.js'

async function nats(t: { after(fn: () => Promise<void>): void }, port: number) {
  const nc = await connect({ servers: `127.0.0.1:${port}` })
  t.after(() => nc.close())
  return nc
}

for (const protocolVersion of [4, 5] as const) {
  const v = protocolVersion === 5 ? '5.0' : '3.1.1'

  test(`${v}: NATS publish on a.b reaches MQTT subscribers on a/b, a/+ and #; headers become user properties (5.0)`, async (t) => {
    const b = await mqttBroker(t)
    const m = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(m)
    await m.subscribeAsync(['a/b', 'a/+', '#'], { qos: 1 })
    const nc = await nats(t, b.port)
    const h = natsHeaders()
    h.append('trace', 't-1')
    nc.publish('a.b', 'from nats', { headers: h, reply: 'reply.x' })
    const got = await rec.next(3)
    for (const g of got) {
      assert.deepEqual([g.topic, g.payload, g.qos], ['a/b', 'from nats', 1])
      if (protocolVersion === 5) {
        assert.deepEqual({ ...(g.props?.userProperties as object) }, { trace: 't-1' })
        assert.equal(g.props?.responseTopic, 'reply/x')
      }
    }
  })

  test(`${v}: MQTT publish on a/b reaches NATS subscribers on a.b, a.* and >; user properties become headers (5.0)`, async (t) => {
    const b = await mqttBroker(t)
    const nc = await nats(t, b.port)
    const got: Msg[] = []
    for (const s of ['a.b', 'a.*', '>']) nc.subscribe(s, { callback: (_e, msg) => got.push(msg) })
    await nc.flush()
    const m = await client(t, b.mqtt!.port, { protocolVersion })
    await m.publishAsync('a/b', 'from mqtt', { qos: 1, properties: protocolVersion === 5 ? { userProperties: { trace: ['t-2', 't-3'] }, responseTopic: 'back/here' } : {} })
    await until(() => got.length === 3, 3000, 'three NATS deliveries')
    for (const msg of got) {
      assert.equal(msg.subject, 'a.b')
      assert.equal(msg.string(), 'from mqtt')
      if (protocolVersion === 5) {
        assert.deepEqual(msg.headers?.values('trace'), ['t-2', 't-3'])
        assert.equal(msg.reply, 'back.here')
      }
    }
  })

  test(`${v}: $share/g/jobs/# and NATS queue group g on jobs.> share the work exactly once`, async (t) => {
    const b = await mqttBroker(t)
    const nc = await nats(t, b.port)
    const natsGot: string[] = []
    nc.subscribe('jobs.>', { queue: 'g', callback: (_e, msg) => natsGot.push(msg.string()) })
    await nc.flush()
    const m = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(m)
    await m.subscribeAsync('$share/g/jobs/#', { qos: 0 })
    const n = 40
    for (let i = 0; i < n; i++) nc.publish('jobs.run', String(i))
    await nc.flush()
    await until(() => natsGot.length + rec.got.length >= n, 3000, 'all jobs')
    // Settle, then check nothing was delivered twice.
    await m.publishAsync('jobs/run', 'last', { qos: 1 })
    await until(() => natsGot.length + rec.got.length >= n + 1, 3000, 'last job')
    const all = [...natsGot, ...rec.got.map((g) => g.payload)].sort()
    assert.deepEqual(all, [...Array.from({ length: n }, (_, i) => String(i)), 'last'].sort())
    assert.ok(natsGot.length > 0 && rec.got.length > 0, `both sides worked: nats ${natsGot.length}, mqtt ${rec.got.length}`)
  })
}

test('a NATS request answered by an MQTT 5.0 client through the response topic', async (t) => {
  const b = await mqttBroker(t)
  const responder = await client(t, b.mqtt!.port, { protocolVersion: 5 })
  responder.on('message', (_topic, payload, packet) => {
    const rt = packet.properties?.responseTopic
    if (rt !== undefined) responder.publish(rt, `echo ${payload.toString()}`)
  })
  await responder.subscribeAsync('svc/echo', { qos: 0 })
  const nc = await nats(t, b.port)
  const reply = await nc.request('svc.echo', 'ping', { timeout: 2000 })
  assert.equal(reply.string(), 'echo ping')
})

test('the embedded API and MQTT: broker.publish reaches MQTT, MQTT reaches broker.subscribe', async (t) => {
  const b = await mqttBroker(t)
  const got: string[] = []
  b.subscribe('emb.>', {}, (msg) => got.push(`${msg.subject}=${Buffer.from(msg.data).toString()}`))
  const m = await client(t, b.mqtt!.port)
  const rec = collect(m)
  await m.subscribeAsync('emb/in', { qos: 0 })
  b.publish('emb.in', 'to mqtt')
  await m.publishAsync('emb/out', 'from mqtt')
  await rec.next(1)
  await until(() => got.length === 2, 3000, 'embedded deliveries')
  assert.deepEqual(got, ['emb.in=to mqtt', 'emb.out=from mqtt'])
  assert.equal(rec.got[0]?.payload, 'to mqtt')
})
