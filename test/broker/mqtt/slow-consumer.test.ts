// The broker's slow-consumer policy applies to MQTT subscribers unchanged: one that stops reading
// is cut when its pending bytes pass max_pending, and the publisher and other clients carry on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'nats'
import { mqttBroker, until } from './_util.js'
import { RawMqtt, connectPacket } from './_raw.js'

test('an MQTT subscriber that stops reading is cut as a slow consumer; NATS publishing goes on', async (t) => {
  const b = await mqttBroker(t, { maxPendingBytes: 256 * 1024 })
  const stuck = await RawMqtt.open(b.mqtt!.port)
  t.after(() => stuck.close())
  stuck.send(connectPacket('stuck'))
  await stuck.waitFor('connack')
  stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] })
  await stuck.waitFor('suback')
  stuck.socket.pause()
  const nc = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => nc.close())
  const payload = new Uint8Array(16 * 1024)
  // Bounded: at most 64 MiB, far beyond loopback socket buffers plus max_pending.
  for (let i = 0; i < 4096 && b.stats.slowConsumers === 0; i++) {
    nc.publish('flood', payload)
    if (i % 64 === 63) await nc.flush()
  }
  await until(() => b.stats.slowConsumers === 1, 5000, 'slow consumer cut')
  assert.equal(b.mqtt!.connections.size, 0)
  assert.equal(nc.isClosed(), false)
  await nc.flush()
})
