// The MQTT codec: framing one byte at a time and in every split, fast-check fuzzing of the framer
// and packet decoders (only MqttError on bad bytes, never another throw), the topic <-> subject
// mapping (round trip, valid subjects, wildcard matching equal to MQTT's), and a live-server fuzz.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { MqttFramer } from '../../../src/broker/mqtt/framer.js'
import { MqttError } from '../../../src/broker/mqtt/errors.js'
import { PacketType, UnsupportedLevel, checkFlags, decodeAck, decodeConnect, decodeDisconnect, decodePublish, decodeSubscribe, decodeUnsubscribe } from '../../../src/broker/mqtt/packets.js'
import { filterSubjects, parseFilter, subjectToTopic, topicMatches, topicToSubject } from '../../../src/broker/mqtt/topic.js'
import { isValidLiteralSubject, isValidSubject, subjectMatches } from '../../../src/broker/subject.js'
import { mqttBroker } from './_util.js'
import { RawMqtt, connectPacket } from './_raw.js'

type Frame = [number, number, string]

function frames(chunks: Uint8Array[], max = 1 << 20): Frame[] {
  const out: Frame[] = []
  const f = new MqttFramer({ onPacket: (type, flags, body) => out.push([type, flags, Buffer.from(body).toString('hex')]) }, max)
  for (const c of chunks) f.push(c)
  return out
}

const SESSION: Packet[] = [
  connectPacket('c1', 5, { properties: { sessionExpiryInterval: 10, userProperties: { a: 'b' } }, will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: true, properties: { willDelayInterval: 3 } } }),
  { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/+', qos: 1, nl: true, rap: true, rh: 1 }], properties: { subscriptionIdentifier: 9 } },
  { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(300, 7), qos: 1, messageId: 4, retain: false, dup: false, properties: { contentType: 'x/y', userProperties: { k: ['1', '2'] } } },
  { cmd: 'publish', topic: 'a/c', payload: Buffer.alloc(0), qos: 0, retain: true, dup: false },
  { cmd: 'puback', messageId: 4 },
  { cmd: 'pubrel', messageId: 5 },
  { cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['a/+', 'b/#'] },
  { cmd: 'pingreq' },
  { cmd: 'disconnect', reasonCode: 4, properties: { sessionExpiryInterval: 0 } },
] as Packet[]
const BYTES = Buffer.concat(SESSION.map((p) => mqttPacket.generate(p, { protocolVersion: 5 })))

/** Decodes one framed packet as the connection would (5.0), or returns the MqttError code. */
function decode(type: number, flags: number, body: Buffer): unknown {
  checkFlags(type, flags)
  switch (type) {
    case PacketType.CONNECT:
      return decodeConnect(body)
    case PacketType.PUBLISH:
      return decodePublish(flags, body, true)
    case PacketType.PUBACK:
    case PacketType.PUBREL:
      return decodeAck(body, true, 'ack')
    case PacketType.SUBSCRIBE:
      return decodeSubscribe(body, true).subs.map((s) => parseFilter(s.filter))
    case PacketType.UNSUBSCRIBE:
      return decodeUnsubscribe(body, true)
    case PacketType.DISCONNECT:
      return decodeDisconnect(body, true)
    default:
      return undefined
  }
}

test('framing: whole, one byte at a time and every two-way split give the same packets', () => {
  const whole = frames([BYTES])
  assert.equal(whole.length, SESSION.length)
  assert.deepEqual(frames([...BYTES].map((b) => Uint8Array.of(b))), whole)
  for (let i = 0; i <= BYTES.length; i++) assert.deepEqual(frames([BYTES.subarray(0, i), BYTES.subarray(i)]), whole)
})

test('decoding the generated session gives back its fields', () => {
  const out: unknown[] = []
  const f = new MqttFramer({ onPacket: (type, flags, body) => out.push(decode(type, flags, body)) }, 1 << 20)
  f.push(BYTES)
  const c = out[0] as ReturnType<typeof decodeConnect>
  assert.deepEqual([c.level, c.clientId, c.props.sessionExpiry, c.props.userProperties, c.will?.topic, c.will?.qos, c.will?.retain, c.will?.props.willDelay], [5, 'c1', 10, [['a', 'b']], 'w', 1, true, 3])
  const p = out[2] as ReturnType<typeof decodePublish>
  assert.deepEqual([p.topic, p.qos, p.packetId, p.payload.length, p.props.contentType, p.props.userProperties], ['a/b', 1, 4, 300, 'x/y', [['k', '1'], ['k', '2']]])
  assert.deepEqual((out[6] as ReturnType<typeof decodeUnsubscribe>).filters, ['a/+', 'b/#'])
  assert.equal((out[8] as ReturnType<typeof decodeDisconnect>).reason, 4)
})

const topicLevel = fc.string({ unit: fc.constantFrom('a', 'b', '.', ' ', '%', '*', '>', '$', 'é', '4', '1', 'E', '\t'), maxLength: 5 })
const topic = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((l) => l.join('/')).filter((t) => t.length > 0)

test('topic -> subject is a valid literal subject and maps back to the same topic', () => {
  fc.assert(
    fc.property(topic, (t) => {
      const s = topicToSubject(t)
      assert.ok(isValidLiteralSubject(s), `${JSON.stringify(t)} -> ${JSON.stringify(s)}`)
      assert.equal(subjectToTopic(s), t)
    }),
    { numRuns: 2000 },
  )
})

test('filter subjects match exactly the topics MQTT matching accepts (without the $ rule)', () => {
  const filterLevel = fc.oneof(topicLevel, fc.constant('+'))
  const filter = fc.tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  fc.assert(
    fc.property(filter, topic, (f, t) => {
      if (t.startsWith('$')) return
      const subjects = filterSubjects(f)
      for (const s of subjects) assert.ok(isValidSubject(s), s)
      const viaNats = subjects.some((s) => subjectMatches(s, topicToSubject(t)))
      assert.equal(viaNats, topicMatches(f, t), `${f} vs ${t}`)
    }),
    { numRuns: 3000 },
  )
})

test('fuzz: random bytes and mutated packets raise only MqttError, in any split', () => {
  const mutated = fc.tuple(fc.nat(BYTES.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(BYTES.length)).map(([i, b, cut]) => {
    const copy = Buffer.from(BYTES)
    copy[i] = b
    return copy.subarray(0, cut)
  })
  const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated)
  fc.assert(
    fc.property(input, fc.nat(), (bytes, splitSeed) => {
      const run = (chunks: Uint8Array[]): string[] => {
        const seen: string[] = []
        const f = new MqttFramer(
          {
            onPacket: (type, flags, body) => {
              try {
                decode(type, flags, body)
                seen.push(`ok ${type}`)
              } catch (err) {
                if (!(err instanceof MqttError) && !(err instanceof UnsupportedLevel)) throw err
                seen.push(`err ${(err as MqttError).code ?? 'level'}`)
              }
            },
          },
          4096,
        )
        try {
          for (const c of chunks) f.push(c)
        } catch (err) {
          if (!(err instanceof MqttError)) throw err
          seen.push(`frame ${err.code}`)
        }
        return seen
      }
      const cut = bytes.length === 0 ? 0 : splitSeed % bytes.length
      assert.deepEqual(run([bytes.subarray(0, cut), bytes.subarray(cut)]), run([bytes]))
    }),
    { numRuns: 3000 },
  )
})

test('nasty corpus: each input closes or is served, and the broker keeps serving', async (t) => {
  const b = await mqttBroker(t)
  const connect4 = mqttPacket.generate(connectPacket('n', 4), { protocolVersion: 4 })
  const corpus: Buffer[] = [
    Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]), // CONNECT announcing 256 MiB
    Buffer.from([0x00, 0x00]), // packet type 0
    Buffer.from([0xf0, 0x00]), // AUTH before CONNECT
    Buffer.concat([connect4, Buffer.from([0x20, 0x02, 0x00, 0x00])]), // CONNACK from a client
    Buffer.concat([connect4, Buffer.from([0x82, 0x02, 0x00, 0x01])]), // SUBSCRIBE without filters
    Buffer.concat([connect4, Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61])]), // QoS 1 PUBLISH without packet id
    Buffer.concat([connect4, Buffer.from([0x30, 0x04, 0x00, 0x03, 0x61, 0x00])]), // topic length beyond the packet
    Buffer.concat([connect4, Buffer.from([0x30, 0x04, 0x00, 0x02, 0x61, 0x00])]), // U+0000 in the topic
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  ]
  for (const bytes of corpus) {
    const c = await RawMqtt.open(b.mqtt!.port)
    c.send(bytes)
    await c.waitClosed()
  }
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), async (bytes) => {
      const c = await RawMqtt.open(b.mqtt!.port)
      c.send(Buffer.concat([connect4, Buffer.from(bytes)]))
      await new Promise((r) => setTimeout(r, 5))
      c.close()
    }),
    { numRuns: 40 },
  )
  const ok = await RawMqtt.open(b.mqtt!.port)
  t.after(() => ok.close())
  ok.send(connectPacket('after', 4))
  assert.equal((await ok.waitFor('connack'))?.cmd, 'connack')
})
