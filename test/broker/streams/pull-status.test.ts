// Pull request status replies, raw (no client helpers in between), against ours and nats-server:
// 404 No Messages, 408 Request Timeout with pending counts, 409 limit violations, 100 heartbeats;
// plus backoff, headers_only, push queue groups, ephemeral clean-up and the dead-letter subject.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AckPolicy, connect, createInbox, nanos, StringCodec, type JetStreamManager, type Msg, type NatsConnection } from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'

const sc = StringCodec()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const code = (m: Msg): number => m.headers?.code ?? 0

/**
 * Sends one MSG.NEXT request and collects the replies on its inbox until `done(replies)`; by
 * default until the request is over: a terminal status (4xx) or `batch` messages. Gives up after
 * `timeoutMs` and returns what came, for the assertions to show. A flush before unsubscribing
 * takes in anything the server sent before it (nothing may follow a terminal status).
 */
async function pull(nc: NatsConnection, stream: string, consumer: string, req: { batch: number } & Record<string, unknown>, done?: (got: readonly Msg[]) => boolean, timeoutMs = 5000): Promise<Msg[]> {
  const over = done ?? ((got: readonly Msg[]): boolean => got.some((m) => code(m) >= 400) || got.filter((m) => code(m) === 0).length >= req.batch)
  const inbox = createInbox()
  const got: Msg[] = []
  let finish = (): void => {}
  const finished = new Promise<void>((resolve) => { finish = resolve })
  const sub = nc.subscribe(inbox, { callback: (_e, m) => { got.push(m); if (over(got)) finish() } })
  const timer = setTimeout(finish, timeoutMs)
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, sc.encode(JSON.stringify(req)), { reply: inbox })
  await finished
  clearTimeout(timer)
  await nc.flush()
  sub.unsubscribe()
  return got
}

const status = (m: Msg): string => `${m.headers?.code ?? 0} ${m.headers?.description ?? ''}`.trim()

for (const targetName of jsTargets) {
  describe(`pull statuses and consumer options on ${targetName}`, () => {
    let target: JsTarget
    let nc: NatsConnection
    let jsm: JetStreamManager

    before(async () => {
      target = await startJsTarget(targetName, { ephemeralInactiveMs: 500 })
      nc = await connect({ port: target.port, reconnect: false })
      jsm = await nc.jetstreamManager()
      await jsm.streams.add({ name: 'PS', subjects: ['ps.>'] })
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    test('404, 408 with pending counts, 409 limits, heartbeats', async () => {
      await jsm.consumers.add('PS', { durable_name: 'S', ack_policy: AckPolicy.Explicit, max_batch: 10, max_waiting: 1 })
      assert.deepEqual((await pull(nc, 'PS', 'S', { batch: 1, no_wait: true })).map(status), ['404 No Messages'])
      const timedOut = await pull(nc, 'PS', 'S', { batch: 5, expires: nanos(300) })
      assert.deepEqual(timedOut.map(status), ['408 Request Timeout'])
      assert.equal(timedOut[0]?.headers?.get('Nats-Pending-Messages'), '5')
      assert.deepEqual((await pull(nc, 'PS', 'S', { batch: 11, expires: nanos(300) })).map(status), ['409 Exceeded MaxRequestBatch of 10'])
      const hb = await pull(nc, 'PS', 'S', { batch: 1, expires: nanos(1000), idle_heartbeat: nanos(200) })
      assert.ok(hb.filter((m) => status(m) === '100 Idle Heartbeat').length >= 2, hb.map(status).join(','))
      assert.equal(status(hb[hb.length - 1] as Msg), '408 Request Timeout')
      // A big message with a small max_bytes: 409 instead of the message.
      await nc.jetstream().publish('ps.big', new Uint8Array(500))
      const small = await pull(nc, 'PS', 'S', { batch: 1, max_bytes: 100, expires: nanos(500) })
      assert.deepEqual(small.map(status), ['409 Message Size Exceeds MaxBytes'])
      const ok = await pull(nc, 'PS', 'S', { batch: 1, expires: nanos(500) })
      assert.equal(ok[0]?.data.length, 500)
      assert.equal(ok[0]?.subject, 'ps.big')
    })

    test('backoff spaces redeliveries; headers_only sends the size, not the payload', async () => {
      await jsm.consumers.add('PS', { durable_name: 'B', ack_policy: AckPolicy.Explicit, filter_subject: 'ps.b', backoff: [nanos(200), nanos(800)], max_deliver: 3 })
      await nc.jetstream().publish('ps.b', sc.encode('x'))
      const inbox = createInbox()
      const times: number[] = []
      const t0 = Date.now()
      const sub = nc.subscribe(inbox, { callback: (_e, m) => void (m.data.length > 0 && times.push(Date.now() - t0)) })
      nc.publish('$JS.API.CONSUMER.MSG.NEXT.PS.B', sc.encode(JSON.stringify({ batch: 3, expires: nanos(2500) })), { reply: inbox })
      // Wait for the third delivery (about 1 s), not for the request's whole 2.5 s lifetime:
      // max_deliver is 3 and the batch is 3, so nothing else can follow it.
      const deadline = Date.now() + 5000
      while (times.length < 3 && Date.now() < deadline) await sleep(20)
      await nc.flush()
      sub.unsubscribe()
      assert.equal(times.length, 3, times.join(','))
      // Second delivery after ~200 ms, third ~800 ms after that (timer granularity allowed for).
      assert.ok((times[1] as number) - (times[0] as number) >= 150, times.join(','))
      assert.ok((times[2] as number) - (times[1] as number) >= 650, times.join(','))
      await jsm.consumers.add('PS', { durable_name: 'H', ack_policy: AckPolicy.None, filter_subject: 'ps.b', headers_only: true })
      const h = await pull(nc, 'PS', 'H', { batch: 1, expires: nanos(500) })
      assert.equal(h[0]?.data.length, 0)
      assert.equal(h[0]?.headers?.get('Nats-Msg-Size'), '1')
    })

    test('push consumer with a deliver group spreads messages over the group', async () => {
      const deliver = createInbox()
      await jsm.consumers.add('PS', { durable_name: 'Q', ack_policy: AckPolicy.None, filter_subject: 'ps.q', deliver_subject: deliver, deliver_group: 'workers' })
      const counts = [0, 0]
      const subs = [0, 1].map((i) => nc.subscribe(deliver, { queue: 'workers', callback: () => counts[i]!++ }))
      for (let i = 0; i < 40; i++) await nc.jetstream().publish('ps.q', sc.encode(String(i)))
      const deadline = Date.now() + 3000
      while ((counts[0] ?? 0) + (counts[1] ?? 0) < 40 && Date.now() < deadline) await sleep(20)
      for (const s of subs) s.unsubscribe()
      assert.equal((counts[0] ?? 0) + (counts[1] ?? 0), 40)
    })

    test('an ephemeral consumer without interest is removed after its inactive threshold', async () => {
      const ci = await jsm.consumers.add('PS', { ack_policy: AckPolicy.Explicit, inactive_threshold: nanos(500) })
      assert.equal(ci.config.durable_name, undefined)
      assert.ok((await jsm.consumers.list('PS').next()).some((c) => c.name === ci.name))
      const deadline = Date.now() + 8000
      while (Date.now() < deadline) {
        if (!(await jsm.consumers.list('PS').next()).some((c) => c.name === ci.name)) break
        await sleep(200)
      }
      assert.ok(!(await jsm.consumers.list('PS').next()).some((c) => c.name === ci.name), 'ephemeral consumer still there')
    })

    test('dead-letter subject (switchyard extension) keeps messages that exceeded max_deliver', { skip: targetName !== 'switchyard' }, async () => {
      await jsm.streams.add({ name: 'DLQ', subjects: ['dlq.>'] })
      await jsm.consumers.add('PS', { durable_name: 'D', ack_policy: AckPolicy.Explicit, filter_subject: 'ps.d', ack_wait: nanos(200), max_deliver: 2, dead_letter_subject: 'dlq.ps' } as Parameters<typeof jsm.consumers.add>[1])
      await nc.jetstream().publish('ps.d', sc.encode('poison'))
      // Both deliveries (the second after ack_wait); then the broker moves it to the dead letters.
      assert.equal((await pull(nc, 'PS', 'D', { batch: 5, expires: nanos(1200) }, (got) => got.filter((m) => code(m) === 0).length >= 2)).filter((m) => code(m) === 0).length, 2)
      const deadline = Date.now() + 3000
      while ((await jsm.streams.info('DLQ')).state.messages === 0 && Date.now() < deadline) await sleep(50)
      const m = await jsm.streams.getMessage('DLQ', { seq: 1 })
      assert.equal(sc.decode(m.data), 'poison')
      assert.equal(m.header.get('Nats-Subject'), 'ps.d')
      assert.equal(m.header.get('Nats-Deliveries'), '2')
    })
  })
}
