// QoS 0 fan-out bytes: from the second subscriber of a message on, a large PUBLISH is built once and
// queued as a shared view (front-end.ts plainWhole); every subscriber must still get exactly the
// bytes of its own protocol version, whatever the size and whoever published.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { mqttBroker, until } from './_util.js'

function varint(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body])
}

function str(s: string): Buffer {
  const b = Buffer.from(s)
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b])
}

/** QoS 0 PUBLISH as the broker sends it: 5.0 adds an empty property length. */
function publish(v5: boolean, topic: string, payload: Buffer): Buffer {
  return packet(0x30, Buffer.concat([str(topic), Buffer.from(v5 ? [0] : []), payload]))
}

interface Raw {
  sock: Socket
  bytes(): Buffer
  take(n: number): Buffer
}

/** A raw subscriber (or publisher) that keeps every byte received after CONNACK (and SUBACK). */
async function open(port: number, id: string, v5: boolean, filter: string | undefined): Promise<Raw> {
  const sock = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve())
    sock.once('error', reject)
  })
  let buf = Buffer.alloc(0)
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
  })
  const level = v5 ? 5 : 4
  sock.write(packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([level, 2, 0, 0]), Buffer.from(v5 ? [0] : []), str(id)])))
  const acks = filter === undefined ? 1 : 2
  if (filter !== undefined) sock.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), Buffer.from(v5 ? [0] : []), str(filter), Buffer.from([0])])))
  // Skip CONNACK (and SUBACK) whole: their remaining length fits in one byte here.
  let seen = 0
  await until(() => {
    while (seen < acks && buf.length >= 2 && buf.length >= 2 + (buf[1] as number)) {
      buf = buf.subarray(2 + (buf[1] as number))
      seen++
    }
    return seen === acks
  }, 3000, `acks for ${id}`)
  return {
    sock,
    bytes: () => buf,
    take(n) {
      const out = buf.subarray(0, n)
      buf = buf.subarray(n)
      return out
    },
  }
}

test('QoS 0 fan-out: every subscriber gets its exact PUBLISH bytes either side of the shared-copy threshold, from MQTT and from broker.publish', async (t) => {
  const b = await mqttBroker(t, { maxPayloadBytes: 64 * 1024 })
  const port = b.mqtt?.port ?? 0
  const versions = [false, false, true, false, true, true, false]
  const subs: { r: Raw; v5: boolean }[] = []
  for (let i = 0; i < versions.length; i++) {
    const v5 = versions[i] as boolean
    subs.push({ r: await open(port, `fan-sub-${i}`, v5, 'fan/x'), v5 })
  }
  t.after(() => {
    for (const s of subs) s.r.sock.destroy()
  })
  const pub = await open(port, 'fan-pub', false, undefined)
  t.after(() => {
    pub.sock.destroy()
  })
  // Two different messages of one size back to back: the shared copy must be per message.
  for (const size of [0, 100, 2047, 2048, 4096, 8191, 8192, 20000]) {
    const payloads = [0, 1].map((k) => {
      const p = Buffer.alloc(size)
      for (let i = 0; i < size; i++) p[i] = (i * 7 + size + k * 13) & 255
      return p
    })
    for (const p of payloads) pub.sock.write(publish(false, 'fan/x', p))
    for (const { r, v5 } of subs) {
      const want = Buffer.concat(payloads.map((p) => publish(v5, 'fan/x', p)))
      await until(() => r.bytes().length >= want.length, 3000, `size ${size}`)
      assert.deepEqual(r.take(want.length), want, `MQTT publisher, size ${size}, v5 ${v5}`)
    }
  }
  // An in-process publisher may reuse one buffer: the shared copy must not be keyed on its identity.
  const reused = Buffer.alloc(4096)
  const sent: Buffer[] = []
  for (let k = 0; k < 3; k++) {
    reused.fill(0x41 + k)
    b.publish('fan.x', reused)
    sent.push(Buffer.from(reused))
  }
  for (const { r, v5 } of subs) {
    const want = Buffer.concat(sent.map((p) => publish(v5, 'fan/x', p)))
    await until(() => r.bytes().length >= want.length, 3000, 'broker.publish')
    assert.deepEqual(r.take(want.length), want, `broker.publish, v5 ${v5}`)
  }
})

test('plainWhole: undefined for the first subscriber of a lone routing, then one shared PUBLISH, rebuilt for the next message', async (t) => {
  const b = await mqttBroker(t)
  const front = b.mqtt
  assert.ok(front !== undefined)
  const topic = front.topicOf('fan.x')
  const body = Buffer.alloc(4096, 7)
  const frame = (seq: number, fanout = 1) => ({ seq, subject: 'fan.x', reply: '', hdrLen: -1, payload: body, fanout, pre: () => body, post: () => body, msg: () => ({}) as never })
  const f1 = frame(1)
  assert.equal(front.plainWhole(false, topic, false, f1, body)?.whole, undefined)
  const w = front.plainWhole(false, topic, false, f1, body)?.whole
  assert.ok(w !== undefined)
  assert.deepEqual(w, publish(false, 'fan/x', body))
  assert.equal(front.plainWhole(false, topic, false, f1, body)?.whole, w, 'the third subscriber shares the same bytes')
  // Same payload buffer, next message: not the old copy.
  const f2 = frame(2)
  assert.equal(front.plainWhole(false, topic, false, f2, body)?.whole, undefined)
  assert.notEqual(front.plainWhole(false, topic, false, f2, body)?.whole, w)
  assert.deepEqual(front.plainWhole(true, topic, false, f2, body)?.whole ?? front.plainWhole(true, topic, false, f2, body)?.whole, publish(true, 'fan/x', body))
})

test('plainWhole: a routing that may reach two or more shares from the first subscriber; slab-carved packets never overlap', async (t) => {
  const b = await mqttBroker(t)
  const front = b.mqtt
  assert.ok(front !== undefined)
  const topic = front.topicOf('fan.x')
  const built: { whole: Buffer; want: Buffer }[] = []
  // 200 messages of 3-5 KiB: several slabs, with ends that are not multiples of 8.
  for (let seq = 10; seq < 210; seq++) {
    const body = Buffer.alloc(3000 + ((seq * 97) % 2100), seq & 255)
    const f = { seq, subject: 'fan.x', reply: '', hdrLen: -1, payload: body, fanout: 2, pre: () => body, post: () => body, msg: () => ({}) as never }
    const whole: Buffer | undefined = front.plainWhole(false, topic, false, f, body)?.whole
    assert.ok(whole !== undefined, `message ${seq}: built on the first delivery`)
    assert.equal(front.plainWhole(false, topic, false, f, body)?.whole, whole, 'the second subscriber gets the same bytes')
    built.push({ whole, want: publish(false, 'fan/x', body) })
  }
  // Every packet still holds its own bytes after all the later ones were carved.
  for (const [i, { whole, want }] of built.entries()) assert.ok(whole.equals(want), `packet ${i} intact`)
  assert.ok(new Set(built.map((x) => x.whole.buffer)).size < built.length, 'consecutive packets share slabs')
})
