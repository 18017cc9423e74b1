// Malformed and forbidden MQTT input: every case closes that connection (with a CONNACK or 5.0
// DISCONNECT reason where the specification gives one) and the broker keeps serving others.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { RawMqtt, connectPacket } from './_raw.js'

async function broker(t: { after(fn: () => Promise<void>): void }): Promise<Broker> {
  const b = await startBroker({ port: 0, host: '127.0.0.1', monitorPort: false, mqtt: { port: 0 } })
  t.after(() => b.close())
  return b
}

/** A fresh client can still connect, subscribe and get its own message. */
async function stillServes(port: number): Promise<void> {
  const c = await RawMqtt.open(port)
  c.send(connectPacket('probe'))
  assert.equal((await c.waitFor('connack'))?.cmd, 'connack')
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'probe/t', qos: 0 }] })
  await c.waitFor('suback')
  c.send({ cmd: 'publish', topic: 'probe/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false })
  assert.equal((await c.waitFor('publish'))?.cmd, 'publish')
  c.close()
}

async function connected(port: number, v = 4): Promise<RawMqtt> {
  const c = await RawMqtt.open(port, v)
  c.send(connectPacket(`c${Math.random()}`, v), v)
  const ack = (await c.waitFor('connack')) as IConnackPacket
  assert.equal(v === 5 ? ack.reasonCode : ack.returnCode, 0)
  return c
}

test('remaining length with a continuation bit on its 4th byte (5 length bytes) closes the connection', async (t) => {
  const b = await broker(t)
  const c = await connected(b.mqtt!.port, 5)
  c.send([0xc0, 0x80, 0x80, 0x80, 0x80, 0x01])
  await c.waitClosed()
  // Malformed (0x81), not "too large" (0x95): the 5th length byte itself is the fault.
  assert.equal(((await c.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x81)
  await stillServes(b.mqtt!.port)
})

test('a non-minimal remaining length encoding closes the connection', async (t) => {
  const b = await broker(t)
  const c = await connected(b.mqtt!.port, 5)
  c.send([0xc0, 0x80, 0x00])
  await c.waitClosed()
  assert.equal(((await c.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x81)
})

test('protocol levels 6 and 2 get CONNACK 0x01 (3.1.1 form, as from mosquitto), then the close', async (t) => {
  const b = await broker(t)
  const hi = await RawMqtt.open(b.mqtt!.port, 4)
  // CONNECT "MQTT" level 6, clean, keep-alive 0, client id "x".
  hi.send([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 2, 0, 0, 0, 1, 0x78])
  const a = (await hi.waitFor('connack')) as IConnackPacket
  assert.equal(a.returnCode, 0x01)
  await hi.waitClosed()
  const lo = await RawMqtt.open(b.mqtt!.port, 4)
  lo.send([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 2, 2, 0, 0, 0, 1, 0x78])
  const l = (await lo.waitFor('connack')) as IConnackPacket
  assert.equal(l.returnCode, 0x01)
  await lo.waitClosed()
  await stillServes(b.mqtt!.port)
})

test('a packet before CONNECT closes without an answer', async (t) => {
  const b = await broker(t)
  const c = await RawMqtt.open(b.mqtt!.port)
  c.send({ cmd: 'pingreq' })
  await c.waitClosed()
  assert.deepEqual(c.packets, [])
})

test('a second CONNECT is a protocol error: 3.1.1 closes, 5.0 gets DISCONNECT 0x82', async (t) => {
  const b = await broker(t)
  const c3 = await connected(b.mqtt!.port, 4)
  c3.send(connectPacket('again'))
  await c3.waitClosed()
  const c5 = await connected(b.mqtt!.port, 5)
  c5.send(connectPacket('again', 5), 5)
  await c5.waitClosed()
  assert.equal(((await c5.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x82)
})

for (const filter of ['a/#/b', 'a+', 'a/b#', '', '$share/g', '$share//a', '$share/g+/a']) {
  test(`invalid topic filter ${JSON.stringify(filter)} closes the connection (5.0: DISCONNECT 0x81)`, async (t) => {
    const b = await broker(t)
    for (const v of [4, 5]) {
      const c = await connected(b.mqtt!.port, v)
      // Built by hand: mqtt-packet refuses to generate some of these.
      const f = Buffer.from(filter)
      const body = Buffer.concat([Buffer.from([0, 7]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), Buffer.from([f.length >> 8, f.length & 255]), f, Buffer.from([0])])
      c.send(Buffer.concat([Buffer.from([0x82, body.length]), body]))
      await c.waitClosed()
      assert.equal(c.packets.some((p) => p.cmd === 'suback'), false)
      if (v === 5) assert.equal(((await c.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x81)
    }
    await stillServes(b.mqtt!.port)
  })
}

test('reserved fixed-header flag bits close the connection', async (t) => {
  const b = await broker(t)
  // SUBSCRIBE must carry flags 0010; PINGREQ 0000; PUBLISH QoS 3 is malformed.
  for (const bytes of [[0x80, 0x06, 0, 1, 0, 1, 0x61, 0], [0xc1, 0x00], [0x36, 0x05, 0, 1, 0x61, 0, 1]]) {
    const c = await connected(b.mqtt!.port)
    c.send(bytes)
    await c.waitClosed()
  }
  const c = await RawMqtt.open(b.mqtt!.port)
  // CONNECT with the reserved connect-flag bit 0 set.
  c.send([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 3, 0, 0, 0, 1, 0x78])
  await c.waitClosed()
  assert.deepEqual(c.packets, [])
  await stillServes(b.mqtt!.port)
})

test('5.0 topic alias (Topic Alias Maximum is 0) gets DISCONNECT 0x94', async (t) => {
  const b = await broker(t)
  const c = await connected(b.mqtt!.port, 5)
  c.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } }, 5)
  await c.waitClosed()
  assert.equal(((await c.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x94)
})

test('PUBLISH to a topic name with wildcards: 5.0 DISCONNECT 0x90', async (t) => {
  const b = await broker(t)
  const c = await connected(b.mqtt!.port, 5)
  const body = Buffer.from([0, 3, 0x61, 0x2f, 0x2b, 0, 0x78])
  c.send(Buffer.concat([Buffer.from([0x30, body.length]), body]))
  await c.waitClosed()
  assert.equal(((await c.waitFor('disconnect')) as IDisconnectPacket | undefined)?.reasonCode, 0x90)
})

test('invalid UTF-8 in a topic closes the connection', async (t) => {
  const b = await broker(t)
  const c = await connected(b.mqtt!.port)
  const body = Buffer.from([0, 2, 0xc3, 0x28, 0x78])
  c.send(Buffer.concat([Buffer.from([0x30, body.length]), body]))
  await c.waitClosed()
  await stillServes(b.mqtt!.port)
})

test('3.1.1 CONNECT with an empty client id and clean session 0 gets CONNACK 0x02', async (t) => {
  const b = await broker(t)
  const c = await RawMqtt.open(b.mqtt!.port)
  // Built by hand: mqtt-packet refuses to generate it.
  c.send([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0, 0, 0, 0, 0])
  assert.equal(((await c.waitFor('connack')) as IConnackPacket).returnCode, 2)
  await c.waitClosed()
})
