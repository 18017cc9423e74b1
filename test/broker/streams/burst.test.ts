// JetStream under the burst of issue #16: a core publisher sends 16 KiB messages as fast as it can
// (flush every 1,000) into a stream read at the same time by a push consumer with flow control
// and by a pull consumer. Every message must be stored and reach both consumers exactly once, with
// no redeliveries (they ack everything promptly, so max_ack_pending is the only pressure).
// Runs against our broker and against nats-server -js, which shows the checker can pass.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AckPolicy, connect, consumerOpts, createInbox, StorageType, type JsMsg, type NatsConnection } from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'

const N = 4_000
const SIZE = 16 * 1024
const MAX_ACK_PENDING = 1_000

/** What one consumer saw: distinct stream sequences, duplicates and redelivery flags. */
class Seen {
  readonly seqs = new Set<number>()
  duplicates = 0
  redelivered = 0
  add(m: JsMsg): void {
    if (this.seqs.has(m.seq)) this.duplicates++
    else this.seqs.add(m.seq)
    if (m.redelivered) this.redelivered++
    m.ack()
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

for (const name of jsTargets) {
  describe(`JetStream under a 16 KiB burst (${name})`, () => {
    let target: JsTarget
    let nc: NatsConnection
    let pubNc: NatsConnection
    before(async () => {
      target = await startJsTarget(name)
      nc = await connect({ port: target.port })
      pubNc = await connect({ port: target.port, name: 'burst-pub' })
    })
    after(async () => {
      await pubNc?.close()
      await nc?.close()
      await target?.stop()
    })

    test('push (flow control) and pull consumers get every message once, without redeliveries', async () => {
      const jsm = await nc.jetstreamManager()
      const js = nc.jetstream()
      await jsm.streams.add({ name: 'BURST', subjects: ['burst.>'], storage: StorageType.Memory })
      await jsm.consumers.add('BURST', { durable_name: 'PULL', ack_policy: AckPolicy.Explicit, max_ack_pending: MAX_ACK_PENDING })
      const opts = consumerOpts()
      opts.durable('PUSH')
      opts.deliverTo(createInbox())
      opts.manualAck()
      opts.ackExplicit()
      opts.flowControl()
      opts.idleHeartbeat(1_000)
      opts.maxAckPending(MAX_ACK_PENDING)
      const push = new Seen()
      const sub = await js.subscribe('burst.>', opts)
      void (async () => {
        for await (const m of sub) push.add(m)
      })()
      const pull = new Seen()
      const messages = await (await js.consumers.get('BURST', 'PULL')).consume({ max_messages: 500, expires: 2_000 })
      void (async () => {
        for await (const m of messages) pull.add(m)
      })()

      const payload = new Uint8Array(SIZE)
      for (let i = 0; i < N; i++) {
        pubNc.publish('burst.x', payload)
        if (i % 1_000 === 999) await pubNc.flush()
      }
      await pubNc.flush()
      await until(() => (push.seqs.size >= N && pull.seqs.size >= N) || pubNc.isClosed(), 180_000, 'both consumers to see every message')

      const si = await jsm.streams.info('BURST')
      assert.equal(si.state.messages, N, 'every published message was stored')
      for (const [label, seen] of [['push', push], ['pull', pull]] as const) {
        assert.equal(seen.seqs.size, N, `${label}: every message arrived`)
        assert.equal(seen.duplicates, 0, `${label}: no duplicates`)
        assert.equal(seen.redelivered, 0, `${label}: no redeliveries`)
      }
      const ciPush = await jsm.consumers.info('BURST', 'PUSH')
      const ciPull = await jsm.consumers.info('BURST', 'PULL')
      assert.equal(ciPush.num_redelivered, 0)
      assert.equal(ciPull.num_redelivered, 0)
      if (target.broker !== undefined) assert.equal(target.broker.stats.slowConsumers, 0, 'nobody was cut')
      messages.stop()
      sub.unsubscribe()
    })
  })
}
