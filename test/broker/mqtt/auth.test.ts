// MQTT clients and the broker's users: CONNECT user name/password, refusals with the CONNACK code
// of each version, and subject permissions applied to the mapped subjects.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { client, collect, mqtt, mqttBroker } from './_util.js'
import { RawMqtt, connectPacket } from './_raw.js'

const users = [
  { user: 'alice', password: 'secret', permissions: { publish: { allow: ['open.>'] }, subscribe: { allow: ['open.>', 'wide.>'], deny: ['wide.hidden'] } } },
]

for (const protocolVersion of [4, 5] as const) {
  test(`${protocolVersion === 5 ? '5.0' : '3.1.1'}: a wrong password is refused with ${protocolVersion === 5 ? '0x86' : '0x04'}`, async (t) => {
    const b = await mqttBroker(t, { users })
    const err = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqtt!.port}`, { protocolVersion, username: 'alice', password: 'wrong', reconnectPeriod: 0 }).then(
      () => undefined,
      (e: { code?: number }) => e,
    )
    assert.equal(err?.code, protocolVersion === 5 ? 0x86 : 4)
  })
}

test('permissions: publish outside allow is dropped (5.0 PUBACK 0x87), subscribe outside allow gets 0x80, deny filters deliveries', async (t) => {
  const b = await mqttBroker(t, { users })
  // Raw: mqtt.js turns a SUBACK failure code into a rejected subscribe.
  for (const v of [4, 5]) {
    const raw = await RawMqtt.open(b.mqtt!.port, v)
    t.after(() => raw.close())
    raw.send(connectPacket(`raw${v}`, v, { username: 'alice', password: Buffer.from('secret') }), v)
    await raw.waitFor('connack')
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'open/#', qos: 1 }, { topic: 'closed/#', qos: 1 }] }, v)
    assert.deepEqual((await raw.waitFor('suback') as { granted: number[] }).granted, [1, v === 5 ? 0x87 : 0x80])
  }
  const c = await client(t, b.mqtt!.port, { protocolVersion: 5, username: 'alice', password: 'secret' })
  const rec = collect(c)
  await c.subscribeAsync({ 'open/#': { qos: 1 }, 'wide/+': { qos: 0 } })
  const refused = await c.publishAsync('closed/x', 'no', { qos: 1 }).then(
    () => undefined,
    (e: { code?: number }) => e,
  )
  assert.equal(refused?.code, 0x87)
  b.publish('wide.hidden', 'denied')
  b.publish('wide.shown', 'allowed')
  await c.publishAsync('open/x', 'yes', { qos: 1 })
  await rec.next(2)
  assert.deepEqual(rec.got.map((g) => `${g.topic}=${g.payload}`).sort(), ['open/x=yes', 'wide/shown=allowed'])
})
