// Only the documented ack verbs act on a delivery (issue #23, item 4): a body like `hello`, or the
// PubAck a stream sends when it captures a push consumer's delivery (the delivery's reply is the
// `$JS.ACK...` subject), used to count as +ACK. nats-server ignores unknown bodies. Both servers.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AckPolicy, connect, StringCodec, type JetStreamManager, type NatsConnection } from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'

const sc = StringCodec()

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.fail(`timed out waiting for ${what}`)
}

for (const name of jsTargets) {
  describe(`ack verbs (${name})`, () => {
    let target: JsTarget
    let nc: NatsConnection
    let jsm: JetStreamManager
    before(async () => {
      target = await startJsTarget(name)
      nc = await connect({ port: target.port, reconnect: false })
      jsm = await nc.jetstreamManager()
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    test('bodies other than the ack verbs leave the message pending; +ACK acks it', async () => {
      await jsm.streams.add({ name: 'V', subjects: ['v.>'] })
      await jsm.consumers.add('V', { durable_name: 'C', ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000 })
      await nc.jetstream().publish('v.1', sc.encode('x'))
      const m = await nc.request('$JS.API.CONSUMER.MSG.NEXT.V.C', sc.encode('{"batch":1}'), { timeout: 3000, noMux: true })
      assert.equal(sc.decode(m.data), 'x')
      const ackSubject = m.reply as string
      assert.match(ackSubject, /^\$JS\.ACK\./)
      for (const body of ['hello', '+AC', '+ACKNOWLEDGED', ' +ACK', '+WPIX', '{"stream":"D","seq":1}', 'ACK']) {
        // Like nats-server, an unknown body still gets the (empty) ack-of-the-ack reply.
        await nc.request(ackSubject, sc.encode(body), { timeout: 3000, noMux: true })
        const ci = await jsm.consumers.info('V', 'C')
        assert.equal(ci.num_ack_pending, 1, `${JSON.stringify(body)} must not ack`)
      }
      await nc.request(ackSubject, sc.encode('+ACK'), { timeout: 3000, noMux: true })
      assert.equal((await jsm.consumers.info('V', 'C')).num_ack_pending, 0)
      assert.equal((await jsm.consumers.info('V', 'C')).ack_floor.stream_seq, 1)
    })

    // nats-server 2.9 does not store a push consumer's deliveries in a stream on the deliver subject
    // (the capture stream stays empty), so there is nothing to compare there.
    const captures = name === 'switchyard'
    test('a stream capturing push deliveries does not ack them with its PubAck', { skip: captures ? false : 'nats-server does not capture consumer deliveries' }, async () => {
      await jsm.streams.add({ name: 'SRC', subjects: ['src.>'] })
      await jsm.streams.add({ name: 'CAPTURE', subjects: ['deliver.>'] })
      await jsm.consumers.add('SRC', { durable_name: 'P', ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000, deliver_subject: 'deliver.p' })
      await nc.jetstream().publish('src.1', sc.encode('y'))
      await until(async () => (await jsm.streams.info('CAPTURE')).state.messages >= 1, 'the capture stream to store the delivery')
      // Round trips through the server so a PubAck sent to the ack subject has been processed.
      await nc.flush()
      const ci = await jsm.consumers.info('SRC', 'P')
      assert.equal(ci.num_ack_pending, 1)
      assert.equal(ci.ack_floor.stream_seq, 0)
    })
  })
}
