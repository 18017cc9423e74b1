// JetStream conformance with the stock `nats` client's JetStream API, run against our broker and
// against Debian's nats-server -js (same tests, loop over targets). Differences of nats-server 2.9
// on edge cases are noted where a test branches on the target.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  AckPolicy,
  connect,
  consumerOpts,
  createInbox,
  DeliverPolicy,
  DiscardPolicy,
  JSONCodec,
  nanos,
  RetentionPolicy,
  StorageType,
  StringCodec,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'
import { waitFor } from '../../_lib/wait.js'

const sc = StringCodec()

interface DirectMsgLike {
  seq: number
  subject: string
  data: Uint8Array
}
interface DirectStreamAPI {
  getMessage(stream: string, query: { seq?: number; last_by_subj?: string }): Promise<DirectMsgLike>
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function fetchAll(js: JetStreamClient, stream: string, consumer: string, max: number, expires = 1000): Promise<JsMsg[]> {
  const c = await js.consumers.get(stream, consumer)
  const out: JsMsg[] = []
  const it = await c.fetch({ max_messages: max, expires })
  for await (const m of it) out.push(m)
  return out
}

for (const targetName of jsTargets) {
  describe(`jetstream on ${targetName}`, () => {
    let target: JsTarget
    let nc: NatsConnection
    let jsm: JetStreamManager
    let js: JetStreamClient

    before(async () => {
      target = await startJsTarget(targetName)
      nc = await connect({ port: target.port, reconnect: false })
      jsm = await nc.jetstreamManager()
      js = nc.jetstream()
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    test('publish with ack, dedup by msgID, expect headers, info, names, get', async () => {
      const si = await jsm.streams.add({ name: 'T1', subjects: ['t1.>'], allow_direct: true, max_msg_size: 1024 })
      assert.equal(si.config.name, 'T1')
      assert.equal(si.state.messages, 0)
      const pa = await js.publish('t1.a', sc.encode('one'))
      assert.deepEqual([pa.stream, pa.seq, pa.duplicate], ['T1', 1, false])
      assert.equal((await js.publish('t1.b', sc.encode('two'), { msgID: 'x' })).seq, 2)
      const dup = await js.publish('t1.b', sc.encode('two again'), { msgID: 'x' })
      assert.deepEqual([dup.seq, dup.duplicate], [2, true])
      assert.equal((await js.publish('t1.a', sc.encode('three'), { expect: { lastSequence: 2 } })).seq, 3)
      await assert.rejects(js.publish('t1.a', sc.encode('bad'), { expect: { lastSequence: 1 } }), /wrong last sequence: 3/)
      await assert.rejects(js.publish('t1.a', sc.encode('bad'), { expect: { lastSubjectSequence: 1 } }), /wrong last sequence: 3/)
      // The last msg id is that of the last stored message, '' when it had none (nats-server does the same).
      await assert.rejects(js.publish('t1.a', sc.encode('bad'), { expect: { lastMsgID: 'nope' } }), /wrong last msg id: $/)
      await assert.rejects(js.publish('t1.a', new Uint8Array(2000)), /message size exceeds maximum allowed/)
      const info = await jsm.streams.info('T1')
      assert.deepEqual([info.state.messages, info.state.first_seq, info.state.last_seq], [3, 1, 3])
      assert.ok((await jsm.streams.names().next()).includes('T1'))
      assert.ok((await jsm.streams.list().next()).some((s) => s.config.name === 'T1'))
      assert.equal(await jsm.streams.find('t1.zzz'), 'T1')
      const sm = await jsm.streams.getMessage('T1', { seq: 1 })
      assert.equal(sc.decode(sm.data), 'one')
      assert.equal(sm.subject, 't1.a')
      assert.equal((await jsm.streams.getMessage('T1', { last_by_subj: 't1.a' })).seq, 3)
      assert.equal((await jsm.streams.getMessage('T1', { seq: 2 })).header.get('Nats-Msg-Id'), 'x')
      // `direct` exists at run time (JetStreamManagerImpl) but is missing from the v2 type declarations.
      const direct = (jsm as unknown as { direct: DirectStreamAPI }).direct
      const dm = await direct.getMessage('T1', { seq: 2 })
      assert.deepEqual([dm.seq, dm.subject, sc.decode(dm.data)], [2, 't1.b', 'two'])
      assert.equal((await direct.getMessage('T1', { last_by_subj: 't1.b' })).seq, 2)
      await assert.rejects(jsm.streams.getMessage('T1', { seq: 99 }), /no message found/)
      await assert.rejects(jsm.streams.info('NOPE'), /stream not found/)
      await assert.rejects(jsm.streams.add({ name: 'T1B', subjects: ['t1.x'] }), /subjects overlap/)
      // Update: limits and subjects change in place.
      const up = await jsm.streams.update('T1', { max_msgs: 2, subjects: ['t1.>', 'one.more'] })
      assert.equal(up.config.max_msgs, 2)
      assert.equal(up.state.messages, 2)
      assert.equal((await js.publish('one.more')).seq, 4)
      await assert.rejects(jsm.streams.update('T1', { storage: StorageType.Memory } as Parameters<typeof jsm.streams.update>[1]), /can not change storage type/)
      // Memory storage works the same way (and is gone after a restart, by design).
      await jsm.streams.add({ name: 'T1M', subjects: ['t1m'], storage: StorageType.Memory })
      assert.equal((await js.publish('t1m', sc.encode('mem'))).seq, 1)
      assert.equal(sc.decode((await jsm.streams.getMessage('T1M', { seq: 1 })).data), 'mem')
    })

    test('pull fetch: ack, nak, term, working; redelivery after ack wait; max deliver and advisory', async () => {
      await jsm.streams.add({ name: 'T2', subjects: ['t2.>'] })
      for (let i = 1; i <= 5; i++) await js.publish('t2.x', sc.encode(`m${i}`))
      await jsm.consumers.add('T2', { durable_name: 'C', ack_policy: AckPolicy.Explicit, ack_wait: nanos(700), max_deliver: 3 })
      const advisories: { stream_seq: number; deliveries: number }[] = []
      const adv = nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.T2.C', {
        callback: (_e, m) => advisories.push(JSONCodec<{ stream_seq: number; deliveries: number }>().decode(m.data)),
      })
      const first = await fetchAll(js, 'T2', 'C', 5)
      assert.deepEqual(first.map((m) => m.seq), [1, 2, 3, 4, 5])
      assert.ok(first.every((m) => m.info.deliveryCount === 1 && m.subject === 't2.x'))
      first[0]?.ack()
      first[1]?.nak()
      first[2]?.term()
      first[3]?.working()
      await first[3]?.ackAck()
      // m2 comes back at once (nak); then m2 and m5 come back after each ack wait until max_deliver.
      const second = await fetchAll(js, 'T2', 'C', 1, 3000)
      assert.deepEqual(second.map((m) => [m.seq, m.info.deliveryCount, m.redelivered]), [[2, 2, true]])
      const third = await fetchAll(js, 'T2', 'C', 3, 4000)
      assert.deepEqual(third.map((m) => [m.seq, m.info.deliveryCount]).sort(), [[2, 3], [5, 2], [5, 3]])
      // Not acked a third time: max_deliver reached, advisories for both, no more deliveries. (nats-server
      // notices only while a pull request waits, so one is kept open across the ack wait.)
      assert.equal((await fetchAll(js, 'T2', 'C', 2, 1500)).length, 0)
      const deadline = Date.now() + 5000
      while (advisories.length < 2 && Date.now() < deadline) await sleep(50)
      adv.unsubscribe()
      assert.deepEqual(advisories.map((a) => [a.stream_seq, a.deliveries]).sort(), [[2, 3], [5, 3]])
      const ci = await jsm.consumers.info('T2', 'C')
      assert.equal(ci.num_pending, 0)
      assert.equal(ci.delivered.stream_seq, 5)
    })

    test('consume() keeps pulling until stopped', async () => {
      await jsm.streams.add({ name: 'T3', subjects: ['t3'] })
      await jsm.consumers.add('T3', { durable_name: 'CC', ack_policy: AckPolicy.Explicit })
      const c = await js.consumers.get('T3', 'CC')
      const msgs = await c.consume({ max_messages: 10, expires: 2000 })
      const pub = (async () => {
        for (let i = 0; i < 25; i++) await js.publish('t3', sc.encode(String(i)))
      })()
      const got: number[] = []
      for await (const m of msgs) {
        got.push(Number(sc.decode(m.data)))
        await m.ackAck()
        if (got.length === 25) break
      }
      await pub
      assert.deepEqual(got, Array.from({ length: 25 }, (_, i) => i))
      const ci = await c.info()
      assert.equal(ci.ack_floor.stream_seq, 25)
    })

    test('push consumer with flow control and idle heartbeats', async () => {
      await jsm.streams.add({ name: 'T4', subjects: ['t4.>'] })
      for (let i = 0; i < 300; i++) js.publish('t4.p', sc.encode(String(i))).catch(() => {})
      await js.publish('t4.p', sc.encode('300'))
      const opts = consumerOpts()
      opts.durable('P')
      opts.deliverTo(createInbox())
      opts.manualAck()
      opts.ackExplicit()
      opts.flowControl()
      opts.idleHeartbeat(300)
      opts.maxAckPending(100)
      const sub = await js.subscribe('t4.>', opts)
      const seen = new Set<number>()
      for await (const m of sub) {
        assert.equal(m.subject, 't4.p')
        seen.add(m.seq)
        m.ack()
        if (seen.size === 301) break
      }
      assert.equal(seen.size, 301)
      const ci = await jsm.consumers.info('T4', 'P')
      assert.equal(ci.config.deliver_subject !== undefined, true)
      sub.unsubscribe()
    })

    test('deliver policies and filter subjects', async () => {
      await jsm.streams.add({ name: 'T5', subjects: ['t5.*'] })
      for (const s of ['a', 'a', 'a']) await js.publish(`t5.${s}`)
      // The start-time policy needs stored timestamps on both sides of t0 (ms resolution): real
      // time has to pass here, there is no state to wait for.
      await sleep(30)
      const t0 = new Date()
      await sleep(30)
      for (const s of ['b', 'b']) await js.publish(`t5.${s}`)
      const mk = async (name: string, extra: Record<string, unknown>): Promise<number[]> => {
        await jsm.consumers.add('T5', { durable_name: name, ack_policy: AckPolicy.Explicit, ...extra })
        return (await fetchAll(js, 'T5', name, 5 - (extra['expect'] as number), 1000)).map((m) => m.seq)
      }
      const q = async (name: string, extra: Record<string, unknown>, n: number): Promise<number[]> => {
        await jsm.consumers.add('T5', { durable_name: name, ack_policy: AckPolicy.Explicit, ...extra })
        return (await fetchAll(js, 'T5', name, n, 1000)).map((m) => m.seq)
      }
      void mk
      assert.deepEqual(await q('all', { deliver_policy: DeliverPolicy.All }, 5), [1, 2, 3, 4, 5])
      assert.deepEqual(await q('last', { deliver_policy: DeliverPolicy.Last }, 1), [5])
      assert.deepEqual(await q('seq', { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 3 }, 3), [3, 4, 5])
      assert.deepEqual(await q('time', { deliver_policy: DeliverPolicy.StartTime, opt_start_time: t0.toISOString() }, 2), [4, 5])
      assert.deepEqual(await q('fb', { filter_subject: 't5.b' }, 2), [4, 5])
      assert.deepEqual(await q('lastfa', { deliver_policy: DeliverPolicy.Last, filter_subject: 't5.a' }, 1), [3])
      await jsm.consumers.add('T5', { durable_name: 'new', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New })
      const c = await js.consumers.get('T5', 'new')
      const it = await c.fetch({ max_messages: 1, expires: 3000 })
      await nc.flush() // the pull request is at the server before the publish
      await js.publish('t5.c')
      const got: number[] = []
      for await (const m of it) got.push(m.seq)
      assert.deepEqual(got, [6])
      await assert.rejects(jsm.consumers.add('T5', { durable_name: 'bad', ack_policy: AckPolicy.Explicit, filter_subject: 'zzz.>' }), /filter subject/)
    })

    test('interest and workqueue retention', async () => {
      await jsm.streams.add({ name: 'T6I', subjects: ['t6i.>'], retention: RetentionPolicy.Interest })
      assert.equal((await js.publish('t6i.x')).seq, 1)
      assert.equal((await jsm.streams.info('T6I')).state.messages, 0, 'no consumers: not kept')
      for (const n of ['A', 'B']) await jsm.consumers.add('T6I', { durable_name: n, ack_policy: AckPolicy.Explicit })
      for (let i = 0; i < 3; i++) await js.publish('t6i.x')
      assert.equal((await jsm.streams.info('T6I')).state.messages, 3)
      for (const m of await fetchAll(js, 'T6I', 'A', 3)) await m.ackAck()
      assert.equal((await jsm.streams.info('T6I')).state.messages, 3, 'B still needs them')
      for (const m of await fetchAll(js, 'T6I', 'B', 3)) await m.ackAck()
      assert.equal((await jsm.streams.info('T6I')).state.messages, 0)

      await jsm.streams.add({ name: 'T6W', subjects: ['t6w.>'], retention: RetentionPolicy.Workqueue })
      await jsm.consumers.add('T6W', { durable_name: 'W', ack_policy: AckPolicy.Explicit })
      await assert.rejects(jsm.consumers.add('T6W', { durable_name: 'W2', ack_policy: AckPolicy.Explicit }), /multiple non-filtered consumers not allowed on workqueue stream/)
      for (let i = 0; i < 4; i++) await js.publish('t6w.job')
      const jobs = await fetchAll(js, 'T6W', 'W', 4)
      await jobs[0]?.ackAck()
      await jobs[1]?.ackAck()
      assert.equal((await jsm.streams.info('T6W')).state.messages, 2)
    })

    test('limits: max msgs (discard old and new), max bytes, max age; purge', async () => {
      await jsm.streams.add({ name: 'T7A', subjects: ['t7a'], max_msgs: 3 })
      for (let i = 0; i < 5; i++) await js.publish('t7a')
      let st = (await jsm.streams.info('T7A')).state
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [3, 3, 5])

      await jsm.streams.add({ name: 'T7B', subjects: ['t7b'], max_msgs: 2, discard: DiscardPolicy.New })
      await js.publish('t7b')
      await js.publish('t7b')
      await assert.rejects(js.publish('t7b'), (e: { api_error?: { code: number; err_code: number; description: string } }) => {
        // nats.js maps every 503 to "jetstream not enabled"; the API error underneath is the real one.
        assert.deepEqual([e.api_error?.code, e.api_error?.err_code, e.api_error?.description], [503, 10077, 'maximum messages exceeded'])
        return true
      })

      await jsm.streams.add({ name: 'T7C', subjects: ['t7c'], max_bytes: 1000 })
      for (let i = 0; i < 10; i++) await js.publish('t7c', new Uint8Array(200))
      st = (await jsm.streams.info('T7C')).state
      assert.ok(st.bytes <= 1000 && st.messages >= 3 && st.messages <= 4, JSON.stringify(st))
      assert.equal(st.last_seq, 10)

      await jsm.streams.add({ name: 'T7D', subjects: ['t7d'], max_age: nanos(300), duplicate_window: nanos(300) })
      await js.publish('t7d')
      await js.publish('t7d')
      const deadline = Date.now() + 4000
      while ((await jsm.streams.info('T7D')).state.messages > 0 && Date.now() < deadline) await sleep(100)
      assert.equal((await jsm.streams.info('T7D')).state.messages, 0)

      await jsm.streams.add({ name: 'T7E', subjects: ['t7e.*'] })
      for (const s of ['a', 'a', 'b', 'b', 'b']) await js.publish(`t7e.${s}`)
      assert.equal((await jsm.streams.purge('T7E', { filter: 't7e.b', keep: 1 })).purged, 2)
      assert.equal((await jsm.streams.info('T7E')).state.messages, 3)
      assert.equal((await jsm.streams.purge('T7E')).purged, 3)
      st = (await jsm.streams.info('T7E')).state
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [0, 6, 5])
      assert.equal((await js.publish('t7e.a')).seq, 6)
      assert.ok(await jsm.streams.delete('T7E'))
      await assert.rejects(jsm.streams.info('T7E'), /stream not found/)
    })

    test('durable fan-out: each consumer gets every message; pullers on one consumer share the work', async () => {
      await jsm.streams.add({ name: 'T8', subjects: ['t8'] })
      for (const n of ['X', 'Y', 'Q']) await jsm.consumers.add('T8', { durable_name: n, ack_policy: AckPolicy.Explicit })
      for (let i = 0; i < 10; i++) await js.publish('t8', sc.encode(String(i)))
      for (const n of ['X', 'Y']) assert.equal((await fetchAll(js, 'T8', n, 10)).length, 10)
      const c = await js.consumers.get('T8', 'Q')
      const take = async (): Promise<number[]> => {
        const out: number[] = []
        for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) {
          out.push(m.seq)
          m.ack()
        }
        return out
      }
      const [a, b] = await Promise.all([take(), take()])
      assert.equal((a ?? []).length + (b ?? []).length, 10)
      assert.deepEqual([...(a ?? []), ...(b ?? [])].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    })

    test('broker restart keeps streams, messages, dedup and consumer state', async () => {
      await jsm.streams.add({ name: 'T9', subjects: ['t9'] })
      for (let i = 1; i <= 10; i++) await js.publish('t9', sc.encode(`m${i}`), { msgID: `id-${i}` })
      await jsm.consumers.add('T9', { durable_name: 'R', ack_policy: AckPolicy.Explicit, ack_wait: nanos(1000) })
      for (const m of await fetchAll(js, 'T9', 'R', 4)) await m.ackAck()
      const unacked = await fetchAll(js, 'T9', 'R', 2)
      assert.deepEqual(unacked.map((m) => m.seq), [5, 6])
      // The consumer's state as the server holds it before the restart.
      await waitFor('the consumer to record 6 delivered, 4 acked', async () => {
        const ci = await jsm.consumers.info('T9', 'R')
        return ci.delivered.stream_seq === 6 && ci.ack_floor.stream_seq === 4 && ci.num_ack_pending === 2
      }, { timeoutMs: 5000 })
      await nc.close()
      await target.restart()
      nc = await connect({ port: target.port, reconnect: false })
      jsm = await nc.jetstreamManager()
      js = nc.jetstream()
      const st = (await jsm.streams.info('T9')).state
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [10, 1, 10])
      const dup = await js.publish('t9', sc.encode('again'), { msgID: 'id-3' })
      assert.deepEqual([dup.seq, dup.duplicate], [3, true])
      const ci = await jsm.consumers.info('T9', 'R')
      assert.equal(ci.ack_floor.stream_seq, 4)
      assert.equal(ci.delivered.stream_seq, 6)
      assert.equal(ci.num_ack_pending, 2)
      const rest = await fetchAll(js, 'T9', 'R', 6, 4000)
      assert.deepEqual(rest.map((m) => m.seq).sort((x, y) => x - y), [5, 6, 7, 8, 9, 10])
      assert.equal(sc.decode(rest.find((m) => m.seq === 10)?.data ?? new Uint8Array()), 'm10')
    })
  })
}
