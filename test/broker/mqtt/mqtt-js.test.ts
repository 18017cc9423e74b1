// mqtt.js (3.1.1 and 5.0) against the broker's MQTT front-end: wildcards, QoS 0/1, retained
// messages, wills, persistent sessions, shared subscriptions, keep-alive, WebSocket.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IDisconnectPacket, IPublishPacket } from 'mqtt-packet'
import { client, collect, mqtt, mqttBroker, until } from './_util.js'
import { RawMqtt, connectPacket } from './_raw.js'

for (const protocolVersion of [4, 5] as const) {
  const v = protocolVersion === 5 ? '5.0' : '3.1.1'

  test(`${v}: + and # wildcards, a/# matches a, # does not match $-topics`, async (t) => {
    const b = await mqttBroker(t)
    const sub = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(sub)
    await sub.subscribeAsync(['x/+/z', 'a/#', '#'], { qos: 0 })
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    for (const topic of ['x/y/z', 'a', 'a/b/c', '$SYS/x', 'x/y']) await pub.publishAsync(topic, topic)
    // x/y/z: x/+/z and #; a: a/# and #; a/b/c: a/# and #; x/y: #; $SYS/x: nobody.
    await rec.next(7)
    await pub.publishAsync('end', 'end')
    await rec.next(8)
    const count = (topic: string) => rec.got.filter((g) => g.topic === topic).length
    assert.deepEqual([count('x/y/z'), count('a'), count('a/b/c'), count('x/y'), count('$SYS/x')], [2, 2, 2, 1, 0])
  })

  test(`${v}: topic levels with dots, spaces, empty levels and % round-trip`, async (t) => {
    const b = await mqttBroker(t)
    const sub = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(sub)
    const topics = ['a.b/c', '/lead', 'trail/', 'd//e', 'sp ace/%41', '*/>']
    await sub.subscribeAsync(topics, { qos: 0 })
    await sub.subscribeAsync('+/+', { qos: 0 })
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    for (const topic of topics) await pub.publishAsync(topic, topic)
    // Exact filters get each once; +/+ also matches /lead, trail/, sp ace/%41 and */>.
    await rec.next(topics.length + 4)
    for (const g of rec.got) assert.equal(g.topic, g.payload)
    assert.deepEqual(new Set(rec.got.map((g) => g.topic)), new Set(topics))
  })

  test(`${v}: QoS 0/1/2 end to end at min(publish QoS, granted QoS)`, async (t) => {
    const b = await mqttBroker(t)
    const sub = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(sub)
    const granted = await sub.subscribeAsync({ 'q/1': { qos: 1 }, 'q/2': { qos: 2 } })
    assert.deepEqual(granted.map((g) => g.qos), [1, 2])
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    await pub.publishAsync('q/1', 'one', { qos: 1 })
    await pub.publishAsync('q/2', 'two', { qos: 2 })
    await pub.publishAsync('q/1', 'two-as-one', { qos: 2 })
    await pub.publishAsync('q/2', 'one-at-two', { qos: 1 })
    await pub.publishAsync('q/1', 'zero', { qos: 0 })
    const got = await rec.next(5)
    assert.deepEqual(got.map((g) => [g.payload, g.qos]), [['one', 1], ['two', 2], ['two-as-one', 1], ['one-at-two', 1], ['zero', 0]])
    // The QoS 2 exchange completed: nothing is left in flight.
    await until(() => [...b.mqtt!.sessions.values()].every((s) => s.inflight.size === 0), 3000, 'empty in-flight windows')
  })

  test(`${v}: retained messages are sent on subscribe with RETAIN; an empty payload deletes`, async (t) => {
    const b = await mqttBroker(t)
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    await pub.publishAsync('r/a', 'A', { qos: 1, retain: true })
    await pub.publishAsync('r/b', 'B', { qos: 0, retain: true })
    await pub.publishAsync('r/b', '', { qos: 0, retain: true })
    const sub = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(sub)
    await sub.subscribeAsync('r/+', { qos: 1 })
    const got = await rec.next(1)
    assert.deepEqual([got[0]?.topic, got[0]?.payload, got[0]?.retain, got[0]?.qos], ['r/a', 'A', true, 1])
    // A live publish with RETAIN reaches an existing subscription with RETAIN 0 (MQTT-3.3.1-9; 5.0 without Retain As Published).
    await pub.publishAsync('r/a', 'A2', { qos: 0, retain: true })
    await rec.next(2)
    assert.equal(rec.got[1]?.retain, false)
    assert.equal(rec.got.length, 2)
  })

  test(`${v}: the will is published on an abnormal close, not after DISCONNECT`, async (t) => {
    const b = await mqttBroker(t)
    const watcher = await client(t, b.mqtt!.port, { protocolVersion })
    const rec = collect(watcher)
    await watcher.subscribeAsync('wills/#', { qos: 1 })
    const polite = await client(t, b.mqtt!.port, { protocolVersion, will: { topic: 'wills/polite', payload: Buffer.from('bye'), qos: 1, retain: false } })
    await polite.endAsync()
    const rude = await client(t, b.mqtt!.port, { protocolVersion, will: { topic: 'wills/rude', payload: Buffer.from('gone'), qos: 1, retain: false } })
    ;(rude.stream as unknown as { destroy(): void }).destroy()
    const got = await rec.next(1)
    assert.deepEqual([got[0]?.topic, got[0]?.payload], ['wills/rude', 'gone'])
    await watcher.publishAsync('wills/end', 'x')
    await rec.next(2)
    assert.equal(rec.got.some((g) => g.topic === 'wills/polite'), false)
  })

  test(`${v}: a persistent session keeps subscriptions and QoS 1 messages while offline`, async (t) => {
    const b = await mqttBroker(t)
    const persistent = protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false }
    const first = await client(t, b.mqtt!.port, { protocolVersion, clientId: 'keeper', ...persistent })
    await first.subscribeAsync('p/#', { qos: 1 })
    await first.endAsync()
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    await pub.publishAsync('p/1', 'kept', { qos: 1 })
    await pub.publishAsync('p/2', 'lost', { qos: 0 })
    // Listen before CONNACK: the stored message follows it at once.
    const again = mqtt.connect(`mqtt://127.0.0.1:${b.mqtt!.port}`, { protocolVersion, clientId: 'keeper', reconnectPeriod: 0, ...persistent })
    t.after(() => again.endAsync(true))
    const rec = collect(again)
    const got = await rec.next(1)
    assert.deepEqual([got[0]?.topic, got[0]?.payload, got[0]?.qos], ['p/1', 'kept', 1])
    // A clean session drops it: nothing is delivered after a clean reconnect.
    await again.endAsync()
    await pub.publishAsync('p/3', 'dropped', { qos: 1 })
    const clean = await client(t, b.mqtt!.port, { protocolVersion, clientId: 'keeper', clean: true })
    const rec2 = collect(clean)
    await clean.subscribeAsync('probe', { qos: 0 })
    await clean.publishAsync('probe', 'p')
    await rec2.next(1)
    assert.deepEqual(rec2.got.map((g) => g.topic), ['probe'])
  })

  test(`${v}: $share/group/topic delivers each message to one member of the group`, async (t) => {
    const b = await mqttBroker(t)
    const members = await Promise.all([0, 1, 2].map(() => client(t, b.mqtt!.port, { protocolVersion })))
    const recs = members.map(collect)
    for (const m of members) await m.subscribeAsync('$share/workers/jobs/+', { qos: 1 })
    const plain = await client(t, b.mqtt!.port, { protocolVersion })
    const all = collect(plain)
    await plain.subscribeAsync('jobs/+', { qos: 0 })
    const pub = await client(t, b.mqtt!.port, { protocolVersion })
    const n = 30
    for (let i = 0; i < n; i++) await pub.publishAsync(`jobs/${i % 3}`, String(i), { qos: 1 })
    await all.next(n)
    await until(() => recs.reduce((s, r) => s + r.got.length, 0) >= n, 3000, 'shared deliveries')
    const seen = recs.flatMap((r) => r.got.map((g) => g.payload)).sort((a, c) => Number(a) - Number(c))
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => String(i)))
    assert.ok(recs.filter((r) => r.got.length > 0).length >= 2, 'spread over members')
  })

  test(`${v}: MQTT over WebSocket (subprotocol mqtt)`, async (t) => {
    const b = await mqttBroker(t, { mqtt: { port: 0, websocket: { port: 0 } } })
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${b.mqtt!.wsPort}`, { protocolVersion, reconnectPeriod: 0 })
    t.after(() => ws.endAsync(true))
    const rec = collect(ws)
    await ws.subscribeAsync('w/+', { qos: 1 })
    const tcp = await client(t, b.mqtt!.port, { protocolVersion })
    await tcp.publishAsync('w/1', 'over ws', { qos: 1 })
    assert.equal((await rec.next(1))[0]?.payload, 'over ws')
  })
}

test('unacknowledged QoS 1 messages are resent with DUP on reconnect, in order', async (t) => {
  const b = await mqttBroker(t)
  const raw = await RawMqtt.open(b.mqtt!.port)
  t.after(() => raw.close())
  raw.send(connectPacket('dupper', 4, { clean: false }))
  await raw.waitFor('connack')
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 1 }] })
  await raw.waitFor('suback')
  const pub = await client(t, b.mqtt!.port)
  await pub.publishAsync('d/1', 'one', { qos: 1 })
  await pub.publishAsync('d/2', 'two', { qos: 1 })
  await until(() => raw.packets.filter((p) => p.cmd === 'publish').length === 2, 3000, 'two publishes')
  raw.close()
  const again = await RawMqtt.open(b.mqtt!.port)
  t.after(() => again.close())
  again.send(connectPacket('dupper', 4, { clean: false }))
  const ack = await again.waitFor('connack')
  assert.equal((ack as { sessionPresent: boolean }).sessionPresent, true)
  await until(() => again.packets.filter((p) => p.cmd === 'publish').length === 2, 3000, 'two resends')
  const resent = again.packets.filter((p) => p.cmd === 'publish') as IPublishPacket[]
  assert.deepEqual(resent.map((p) => [p.topic, String(p.payload), p.dup, p.qos]), [['d/1', 'one', true, 1], ['d/2', 'two', true, 1]])
})

test('the in-flight window holds QoS 1 messages beyond Receive Maximum until PUBACK', async (t) => {
  const b = await mqttBroker(t)
  const raw = await RawMqtt.open(b.mqtt!.port, 5)
  t.after(() => raw.close())
  raw.send(connectPacket('windowed', 5, { properties: { receiveMaximum: 2 } }), 5)
  await raw.waitFor('connack')
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w', qos: 1 }] }, 5)
  await raw.waitFor('suback')
  const pub = await client(t, b.mqtt!.port)
  for (let i = 0; i < 5; i++) await pub.publishAsync('w', String(i), { qos: 1 })
  await until(() => raw.packets.filter((p) => p.cmd === 'publish').length === 2, 3000, 'window of 2')
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(raw.packets.filter((p) => p.cmd === 'publish').length, 2)
  const first = raw.packets.find((p) => p.cmd === 'publish') as IPublishPacket
  raw.send({ cmd: 'puback', messageId: first.messageId as number }, 5)
  await until(() => raw.packets.filter((p) => p.cmd === 'publish').length === 3, 3000, 'one more after PUBACK')
})

test('keep-alive: no packet for 1.5x the interval closes the connection (5.0: DISCONNECT 0x8D)', async (t) => {
  const b = await mqttBroker(t)
  const raw = await RawMqtt.open(b.mqtt!.port, 5)
  t.after(() => raw.close())
  raw.send(connectPacket('sleepy', 5, { keepalive: 1 }), 5)
  await raw.waitFor('connack')
  const start = Date.now()
  await raw.waitClosed(4000)
  const took = Date.now() - start
  assert.ok(took >= 1400, `closed after ${took} ms`)
  assert.equal(((await raw.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x8d)
})

test('a second connection with the same client id takes the session over (5.0: DISCONNECT 0x8E)', async (t) => {
  const b = await mqttBroker(t)
  const old = await RawMqtt.open(b.mqtt!.port, 5)
  t.after(() => old.close())
  old.send(connectPacket('twin', 5), 5)
  await old.waitFor('connack')
  const fresh = await client(t, b.mqtt!.port, { protocolVersion: 5, clientId: 'twin' })
  await old.waitClosed()
  assert.equal(((await old.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x8e)
  assert.equal(fresh.connected, true)
})

test('5.0: No Local, user properties, content type, response topic and subscription identifiers', async (t) => {
  const b = await mqttBroker(t)
  const c = await client(t, b.mqtt!.port, { protocolVersion: 5 })
  const rec = collect(c)
  await c.subscribeAsync('nl/own', { qos: 0, nl: true })
  await c.subscribeAsync('nl/props', { qos: 1, properties: { subscriptionIdentifier: 7 } })
  await c.publishAsync('nl/own', 'mine')
  await c.publishAsync('nl/props', 'p', { qos: 1, properties: { userProperties: { k: 'v' }, contentType: 'text/plain', responseTopic: 'resp/x', correlationData: Buffer.from('c1') } })
  const got = await rec.next(1)
  assert.equal(got[0]?.topic, 'nl/props')
  const p = got[0]?.props as Record<string, unknown>
  assert.deepEqual({ ...(p.userProperties as object) }, { k: 'v' })
  assert.equal(p.contentType, 'text/plain')
  assert.equal(p.responseTopic, 'resp/x')
  assert.equal(String(p.correlationData), 'c1')
  assert.deepEqual(p.subscriptionIdentifier, 7)
  assert.equal(rec.got.length, 1)
})

test('5.0: overlapping subscriptions: a copy at the highest granted QoS, each copy with its own subscription identifier', async (t) => {
  // MQTT-3.3.4-2 (3.1.1: MQTT-3.3.5-1): the message is delivered respecting the maximum QoS of all
  // matching subscriptions; MQTT-3.3.4-5: when several copies are sent, each carries the identifier
  // of the subscription it was sent for. (mosquitto 2.0.11 gets this right on 5.0 but sends a 3.1.1
  // client one copy at QoS 1: the Paho interoperability suite's overlapping-subscriptions test.)
  const b = await mqttBroker(t)
  const c = await client(t, b.mqtt!.port, { protocolVersion: 5 })
  const rec = collect(c)
  await c.subscribeAsync('ov/#', { qos: 2, properties: { subscriptionIdentifier: 3 } })
  await c.subscribeAsync('ov/+', { qos: 1, properties: { subscriptionIdentifier: 2 } })
  await c.publishAsync('ov/x', 'both', { qos: 2 })
  const got = await rec.next(2)
  const seen = got.map((g) => [g.qos, (g.props as Record<string, unknown>).subscriptionIdentifier]).sort()
  assert.deepEqual(seen, [[1, 2], [2, 3]])
})

test('3.1.1: overlapping subscriptions: one of the copies has the highest granted QoS (MQTT-3.3.5-1)', async (t) => {
  const b = await mqttBroker(t)
  const c = await client(t, b.mqtt!.port, { protocolVersion: 4 })
  const rec = collect(c)
  await c.subscribeAsync({ 'ov/#': { qos: 2 }, 'ov/+': { qos: 1 } })
  await c.publishAsync('ov/x', 'both', { qos: 2 })
  const got = await rec.next(2)
  assert.deepEqual(got.map((g) => g.qos).sort(), [1, 2])
})

test('5.0: session expiry 0 ends the session at disconnect; a will delay is cancelled by a reconnect', async (t) => {
  const b = await mqttBroker(t)
  const watcher = await client(t, b.mqtt!.port, { protocolVersion: 5 })
  const rec = collect(watcher)
  await watcher.subscribeAsync('late/#', { qos: 0 })
  const opts = { protocolVersion: 5 as const, clientId: 'delayed', clean: false, properties: { sessionExpiryInterval: 30 }, will: { topic: 'late/will', payload: Buffer.from('w'), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } } }
  const c = await client(t, b.mqtt!.port, opts)
  ;(c.stream as unknown as { destroy(): void }).destroy()
  await until(() => b.mqtt!.sessions.get('delayed')?.conn === undefined, 3000, 'session offline')
  await client(t, b.mqtt!.port, { ...opts, will: undefined } as never)
  await new Promise((r) => setTimeout(r, 1300))
  await watcher.publishAsync('late/end', 'e')
  await rec.next(1)
  assert.deepEqual(rec.got.map((g) => g.topic), ['late/end'])
})

test('a persistent session that takes over a clean connection is kept after its own disconnect', async (t) => {
  const b = await mqttBroker(t)
  const first = await client(t, b.mqtt!.port, { clientId: 'swap', clean: true })
  const second = await client(t, b.mqtt!.port, { clientId: 'swap', clean: false })
  await until(() => !first.connected, 3000, 'first connection taken over')
  await second.subscribeAsync('swap/t', { qos: 1 })
  await second.endAsync()
  const pub = await client(t, b.mqtt!.port)
  await pub.publishAsync('swap/t', 'queued', { qos: 1 })
  const third = mqtt.connect(`mqtt://127.0.0.1:${b.mqtt!.port}`, { clientId: 'swap', clean: false, reconnectPeriod: 0 })
  t.after(() => third.endAsync(true))
  const rec = collect(third)
  assert.equal((await rec.next(1))[0]?.payload, 'queued')
})

test('5.0 message expiry: expired queued and retained messages are deleted, the rest arrive with what is left', async (t) => {
  const b = await mqttBroker(t)
  const persistent = { protocolVersion: 5 as const, clientId: 'expiring', clean: false, properties: { sessionExpiryInterval: 60 } }
  const first = await client(t, b.mqtt!.port, persistent)
  await first.subscribeAsync('exp/+', { qos: 1 })
  await first.endAsync()
  const pub = await client(t, b.mqtt!.port, { protocolVersion: 5 })
  await pub.publishAsync('exp/short', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } })
  await pub.publishAsync('exp/long', 'long', { qos: 1, properties: { messageExpiryInterval: 60 } })
  await pub.publishAsync('ret/short', 'r', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } })
  // Expiry is a span of time: letting it pass is the point of this test.
  await new Promise((r) => setTimeout(r, 2100))
  const again = mqtt.connect(`mqtt://127.0.0.1:${b.mqtt!.port}`, { ...persistent, reconnectPeriod: 0 })
  t.after(() => again.endAsync(true))
  const rec = collect(again)
  await rec.next(1)
  await again.subscribeAsync('ret/+', { qos: 1 })
  await again.publishAsync('exp/end', 'end', { qos: 1 })
  await rec.next(2)
  assert.deepEqual(rec.got.map((g) => g.payload), ['long', 'end'])
  const left = rec.got[0]?.props?.messageExpiryInterval as number
  assert.ok(left >= 55 && left <= 58, `expiry left ${left}`)
})
