// NATS <-> RESP and MQTT <-> RESP on one broker, every direction: the channel a.b is the subject
// a.b and the MQTT topic a/b; payload bytes arrive unchanged; channels with bytes a subject cannot
// hold are escaped reversibly (and reach NATS as the escaped subject); PUBLISH counts NATS and
// MQTT receivers too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Msg } from 'nats'
import mqtt from 'mqtt'
import { RawResp, confirmations, respBroker, until } from './_util.js'

const binary = Buffer.from([0, 1, 2, 13, 10, 255, 254, 36, 42, 13, 10])

async function nats(t: { after(fn: () => Promise<void>): void }, port: number) {
  const nc = await connect({ servers: `127.0.0.1:${port}` })
  t.after(() => nc.close())
  return nc
}

async function mqttClient(t: { after(fn: () => Promise<void>): void }, port: number) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000 })
  t.after(async () => {
    await c.endAsync(true).catch(() => {})
  })
  return c
}

test('NATS publish on a.b reaches RESP subscribers on a.b, a.* and a* (binary payload unchanged)', async (t) => {
  const b = await respBroker(t)
  const sub = await RawResp.open(b.resp!.port, t)
  sub.binary = true
  sub.send('subscribe', 'a.b')
  sub.send('psubscribe', 'a.*', 'a*')
  await sub.read()
  await sub.read()
  await sub.read()
  const nc = await nats(t, b.port)
  nc.publish('a.b', binary)
  await nc.flush()
  const got = [await sub.read(), await sub.read(), await sub.read()] as Buffer[][]
  assert.deepEqual(got[0]?.map(String).slice(0, 2), ['message', 'a.b'])
  assert.ok((got[0]?.[2] as Buffer).equals(binary))
  const patterns = got.slice(1).map((g) => [String(g[0]), String(g[1]), String(g[2])])
  assert.deepEqual(patterns.sort(), [['pmessage', 'a*', 'a.b'], ['pmessage', 'a.*', 'a.b']])
  for (const g of got.slice(1)) assert.ok((g[3] as Buffer).equals(binary))
})

test('RESP PUBLISH reaches NATS subscribers on a.b, a.* and >, and counts them', async (t) => {
  const b = await respBroker(t)
  const nc = await nats(t, b.port)
  const got: Msg[] = []
  for (const s of ['a.b', 'a.*', '>']) nc.subscribe(s, { callback: (_e, m) => got.push(m) })
  await nc.flush()
  const r = await RawResp.open(b.resp!.port, t)
  assert.equal(await r.call('publish', 'a.b', binary), 3)
  await until(() => got.length === 3, 3000, 'three NATS deliveries')
  for (const m of got) {
    assert.equal(m.subject, 'a.b')
    assert.ok(Buffer.from(m.data).equals(binary))
  }
})

test('MQTT publish on a/b reaches RESP subscribers on a.b; RESP PUBLISH on a.b reaches MQTT a/b and a/#', async (t) => {
  const b = await respBroker(t, { mqtt: { port: 0 } })
  const sub = await RawResp.open(b.resp!.port, t)
  sub.binary = true
  sub.send('subscribe', 'a.b')
  await sub.read()
  const m = await mqttClient(t, b.mqtt!.port)
  await m.publishAsync('a/b', binary, { qos: 1 })
  const got = (await sub.read()) as Buffer[]
  assert.deepEqual(got.slice(0, 2).map(String), ['message', 'a.b'])
  assert.ok((got[2] as Buffer).equals(binary))

  const received: [string, Buffer][] = []
  m.on('message', (topic, payload) => received.push([topic, payload]))
  await m.subscribeAsync(['a/b', 'a/#'], { qos: 0 })
  const r = await RawResp.open(b.resp!.port, t)
  assert.equal(await r.call('publish', 'a.b', binary), 3)
  await until(() => received.length === 2, 3000, 'two MQTT deliveries')
  for (const [topic, payload] of received) {
    assert.equal(topic, 'a/b')
    assert.ok(payload.equals(binary))
  }
})

test('channels with spaces, empty tokens, lone * and > and invalid UTF-8 are escaped reversibly', async (t) => {
  const b = await respBroker(t)
  const nc = await nats(t, b.port)
  const seen: string[] = []
  nc.subscribe('>', { callback: (_e, m) => seen.push(m.subject) })
  await nc.flush()
  const sub = await RawResp.open(b.resp!.port, t)
  sub.binary = true
  const odd = [Buffer.from('chat room.1'), Buffer.from('a..b'), Buffer.from('.lead'), Buffer.from('trail.'), Buffer.from(''), Buffer.from('x.*.>'), Buffer.from([0x61, 0xff, 0x2e, 0x62]), Buffer.from('100%.ünï'), Buffer.from('tab\there')]
  for (const ch of odd) sub.send('subscribe', ch)
  for (let i = 0; i < odd.length; i++) await sub.read()
  const r = await RawResp.open(b.resp!.port, t)
  for (const ch of odd) assert.equal(await r.call('publish', ch, 'x'), 2, `publish to ${JSON.stringify(ch.toString('latin1'))}`)
  for (const ch of odd) {
    const got = (await sub.read()) as Buffer[]
    assert.ok((got[1] as Buffer).equals(ch), `channel ${JSON.stringify(ch.toString('latin1'))} came back as ${JSON.stringify(got[1]?.toString('latin1'))}`)
  }
  await until(() => seen.length === odd.length, 3000, 'NATS copies')
  assert.deepEqual(seen, ['chat%20room.1', 'a.%.b', '%.lead', 'trail.%', '%', 'x.%2A.%3E', 'a%FF.b', '100%25.ünï', 'tab%09here'])
  // And the other way: a NATS publish on an escaped subject reaches the Redis channel it stands for.
  nc.publish('chat%20room.1', 'from nats')
  const back = (await sub.read()) as Buffer[]
  assert.deepEqual(back.map(String), ['message', 'chat room.1', 'from nats'])
})

test('a NATS queue group and Redis subscribers on one subject: the group gets one copy, Redis each', async (t) => {
  const b = await respBroker(t)
  const nc = await nats(t, b.port)
  let q = 0
  nc.subscribe('jobs.run', { queue: 'g', callback: () => q++ })
  nc.subscribe('jobs.run', { queue: 'g', callback: () => q++ })
  await nc.flush()
  const sub = await RawResp.open(b.resp!.port, t)
  sub.send('subscribe', 'jobs.run')
  await confirmations(sub, 'subscribe', ['jobs.run'])
  const r = await RawResp.open(b.resp!.port, t)
  // One queue member + one Redis subscriber.
  assert.equal(await r.call('publish', 'jobs.run', 'x'), 2)
  await until(() => q === 1, 3000, 'queue delivery')
  assert.deepEqual(await sub.read(), ['message', 'jobs.run', 'x'])
})
