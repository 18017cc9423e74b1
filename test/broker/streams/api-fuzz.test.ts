// Property test of the JetStream API (issue #23, item 1): fast-check generates runs of $JS.API
// requests whose fields carry random values (huge, negative, fractional, strings, arrays, null),
// mixed with publishes, pulls and acks. After every step the broker must still answer a PING and
// every API request must get a reply; after the run, a graceful restart must bring back exactly the
// same file streams (state and every message) and durable consumers. The broker runs in its own
// process so a spinning event loop fails the test instead of hanging it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { startJsProcess } from './_js-process.js'

const sc = StringCodec()
const runs = Number(process.env.SWITCHYARD_FUZZ_RUNS ?? 5)
/** Replay a failure: SWITCHYARD_FUZZ_SEED and SWITCHYARD_FUZZ_PATH from fast-check's report. */
const replay = process.env.SWITCHYARD_FUZZ_SEED === undefined ? {} : { seed: Number(process.env.SWITCHYARD_FUZZ_SEED), path: process.env.SWITCHYARD_FUZZ_PATH ?? '', endOnFailure: true }

const wild = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 1.5, -0.5, 1e18, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e30, 5_000_000_000, 20_000_000_000),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true }),
  fc.constantFrom('', 'abc', '1s', '-1s', '3', 'a.>', '*'),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 3 }),
)
// Sequences and counts get their edge values often: 2^53 and 1e18 are where float sequences break.
const seqLike = fc.oneof(fc.constantFrom(1e18, 2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, -1, 1.5, 0, 1, 2, 3), wild)
const numeric = new Set(['seq', 'keep', 'opt_start_seq', 'offset', 'batch'])
const fields = (names: string[]): fc.Arbitrary<Record<string, unknown>> =>
  fc.uniqueArray(fc.constantFrom(...names), { maxLength: 4 }).chain((keys) => fc.tuple(...keys.map((k) => (numeric.has(k) ? seqLike : wild))).map((vals) => Object.fromEntries(keys.map((k, i) => [k, vals[i]]))))

const streamFields = ['max_consumers', 'max_msgs', 'max_bytes', 'max_age', 'max_msgs_per_subject', 'max_msg_size', 'num_replicas', 'duplicate_window', 'discard', 'retention', 'storage', 'deny_purge', 'deny_delete', 'allow_direct', 'subjects']
const consumerFields = ['opt_start_seq', 'ack_wait', 'max_deliver', 'backoff', 'max_waiting', 'max_ack_pending', 'idle_heartbeat', 'max_batch', 'max_expires', 'max_bytes', 'inactive_threshold', 'num_replicas', 'deliver_policy', 'ack_policy', 'filter_subject', 'headers_only']
const streams = fc.constantFrom('A', 'B')
const consumers = fc.constantFrom('C1', 'C2')

type Step =
  | { k: 'api'; subject: string; body: Record<string, unknown> | string }
  | { k: 'pub'; stream: string; data: string }
  | { k: 'next'; stream: string; consumer: string; body: Record<string, unknown> | string }
  | { k: 'ack'; payload: string }

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> => ({ weight, arbitrary })
const step: fc.Arbitrary<Step> = fc.oneof(
  w(3, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.CREATE.${s}`), body: fields(streamFields) }).map((x) => {
    const s = x.subject.slice(-1)
    return { ...x, body: { name: s, subjects: [`${s.toLowerCase()}.>`], storage: 'file', ...x.body } }
  })),
  w(1, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.UPDATE.${s}`), body: fields(streamFields) }).map((x) => {
    const s = x.subject.slice(-1)
    return { ...x, body: { name: s, subjects: [`${s.toLowerCase()}.>`], storage: 'file', ...x.body } }
  })),
  w(3, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.PURGE.${s}`), body: fields(['seq', 'keep', 'filter']) })),
  w(1, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.MSG.DELETE.${s}`), body: fields(['seq']) })),
  w(1, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.MSG.GET.${s}`), body: fields(['seq', 'last_by_subj', 'next_by_subj']) })),
  w(1, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `STREAM.INFO.${s}`), body: fields(['subjects_filter', 'offset']) })),
  w(1, fc.record({ k: fc.constant('api' as const), subject: fc.constant('STREAM.NAMES'), body: fields(['offset', 'subject']) })),
  w(1, fc.record({ s: streams, c: consumers, cfg: fields(consumerFields), push: fc.boolean() }).map(({ s, c, cfg, push }) => ({
    k: 'api' as const,
    subject: `CONSUMER.DURABLE.CREATE.${s}.${c}`,
    body: { stream_name: s, config: { durable_name: c, ack_policy: 'explicit', ...(push ? { deliver_subject: `dlv.${c}` } : {}), ...cfg } },
  }))),
  w(1, fc.record({ s: streams, c: consumers }).map(({ s, c }) => ({ k: 'api' as const, subject: `CONSUMER.DELETE.${s}.${c}`, body: '' }))),
  w(1, fc.record({ k: fc.constant('api' as const), subject: streams.map((s) => `CONSUMER.NAMES.${s}`), body: fields(['offset']) })),
  w(5, fc.record({ k: fc.constant('pub' as const), stream: streams, data: fc.string({ maxLength: 8 }) })),
  w(2, fc.record({ k: fc.constant('next' as const), stream: streams, consumer: consumers, body: fc.oneof(fields(['batch', 'expires', 'no_wait', 'max_bytes', 'idle_heartbeat']), fc.constantFrom('', '1', '3', 'abc', '99999999999999999999')) })),
  w(2, fc.record({ k: fc.constant('ack' as const), payload: fc.constantFrom('', '+ACK', '-NAK', '-NAK {"delay": 1e30}', '-NAK {"delay": -5}', '+WPI', '+TERM', '+NXT', '+NXT {"batch":"x"}', 'hello', '{"stream":"A","seq":1}') })),
)

// The reproductions from issue #23 run first in every invocation (random runs seldom hit them):
// a purge to 1e18 with a pull waiting and a pending ack (the broker spun forever), and the same
// purge followed by a publish on a file stream (sequences collapsed, the store came back different).
const createA: Step = { k: 'api', subject: 'STREAM.CREATE.A', body: { name: 'A', subjects: ['a.>'], storage: 'file' } }
const purge1e18: Step = { k: 'api', subject: 'STREAM.PURGE.A', body: { seq: 1e18 } }
const knownCases: Step[][] = [
  [
    createA,
    { k: 'api', subject: 'CONSUMER.DURABLE.CREATE.A.C1', body: { stream_name: 'A', config: { durable_name: 'C1', ack_policy: 'explicit' } } },
    { k: 'pub', stream: 'A', data: 'x' },
    { k: 'next', stream: 'A', consumer: 'C1', body: { batch: 1 } },
    { k: 'next', stream: 'A', consumer: 'C1', body: { batch: 1, expires: 20_000_000_000 } },
    purge1e18,
    { k: 'ack', payload: '+ACK' },
    { k: 'pub', stream: 'A', data: 'y' },
  ],
  [createA, { k: 'pub', stream: 'A', data: 'x' }, purge1e18, { k: 'pub', stream: 'A', data: 'y' }, { k: 'pub', stream: 'A', data: 'z' }],
]

/** Waits for a PING round trip; false when the broker does not answer within `ms`. */
async function responsive(nc: NatsConnection, ms = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))
  try {
    return await Promise.race([nc.flush().then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function api(nc: NatsConnection, subject: string, body: unknown): Promise<Record<string, unknown>> {
  const m = await nc.request(`$JS.API.${subject}`, sc.encode(typeof body === 'string' ? body : JSON.stringify(body)), { timeout: 5000 })
  return JSON.parse(sc.decode(m.data)) as Record<string, unknown>
}

const isSeq = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0

/** Everything a restart must preserve: file streams without max_age (aging runs on the clock), their messages, durable consumers. */
async function snapshot(nc: NatsConnection): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const s of ['A', 'B']) {
    const info = await api(nc, `STREAM.INFO.${s}`, {})
    if (info['error'] !== undefined) continue
    const cfg = info['config'] as Record<string, unknown>
    const st = info['state'] as Record<string, number>
    assert.ok(isSeq(st['first_seq']) && isSeq(st['last_seq']) && isSeq(st['messages']), `exact sequences: ${JSON.stringify(st)}`)
    assert.ok(st['messages'] as number <= (st['last_seq'] as number) - (st['first_seq'] as number) + 1, `messages within [first, last]: ${JSON.stringify(st)}`)
    if (cfg['storage'] !== 'file' || (cfg['max_age'] as number) > 0) continue
    const msgs: string[] = []
    let seq = st['first_seq'] as number
    for (let n = 0; n < (st['messages'] as number) && n < 100; n++) {
      const next = await api(nc, `STREAM.MSG.GET.${s}`, { seq, next_by_subj: '>' })
      const m = next['message'] as { seq: number; subject: string; data: string } | undefined
      if (m === undefined) break
      msgs.push(`${m.seq} ${m.subject} ${m.data}`)
      seq = m.seq + 1
    }
    const names = ((await api(nc, `CONSUMER.NAMES.${s}`, {}))['consumers'] as string[] | undefined) ?? []
    const cons: Record<string, unknown> = {}
    for (const c of names.sort()) {
      const ci = await api(nc, `CONSUMER.INFO.${s}.${c}`, {})
      const ccfg = ci['config'] as Record<string, unknown> | undefined
      if (ccfg === undefined || ccfg['durable_name'] === undefined || ccfg['mem_storage'] === true) continue
      cons[c] = { config: ccfg, delivered: (ci['delivered'] as Record<string, unknown>)['stream_seq'], ack_floor: ci['ack_floor'] }
    }
    out[s] = { state: { messages: st['messages'], first_seq: st['first_seq'], last_seq: st['last_seq'] }, msgs, cons }
  }
  return out
}

test('random JetStream API requests: the broker stays responsive and file streams survive a restart unchanged', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
      const target = await startJsProcess('switchyard')
      let nc = await connect({ port: target.port, reconnect: false })
      // Pull requests and push deliveries go to this connection; it closes before the snapshot so
      // nothing is delivered between the snapshot and the restart.
      const puller = await connect({ port: target.port, reconnect: false })
      const acks: string[] = []
      puller.subscribe('_INBOX.fuzz', { callback: (_e, m) => m.reply !== undefined && m.reply !== '' && acks.push(m.reply) })
      puller.subscribe('dlv.*', { callback: (_e, m) => m.reply !== undefined && m.reply !== '' && acks.push(m.reply) })
      try {
        for (const s of steps) {
          if (s.k === 'api') await api(nc, s.subject, s.body)
          else if (s.k === 'pub') nc.publish(`${s.stream.toLowerCase()}.x`, sc.encode(s.data))
          else if (s.k === 'next') puller.publish(`$JS.API.CONSUMER.MSG.NEXT.${s.stream}.${s.consumer}`, sc.encode(typeof s.body === 'string' ? s.body : JSON.stringify(s.body)), { reply: '_INBOX.fuzz' })
          else {
            const reply = acks.shift()
            if (reply !== undefined) puller.publish(reply, sc.encode(s.payload))
          }
          assert.ok(await responsive(puller), `broker answers after ${JSON.stringify(s)}`)
          assert.ok(await responsive(nc), `broker answers after ${JSON.stringify(s)}`)
        }
        await puller.close()
        const before = await snapshot(nc)
        await nc.close()
        await target.restart()
        nc = await connect({ port: target.port, reconnect: false })
        const afterRestart = await snapshot(nc)
        assert.deepEqual(afterRestart, before)
      } catch (err) {
        // fast-check keeps only the last shrink's error; log each so a failure says what broke.
        console.error(`fuzz failure: ${(err as Error).message}`)
        throw err
      } finally {
        await nc.close()
        await target.stop()
      }
    }),
    // Examples count towards numRuns.
    { numRuns: runs + knownCases.length, verbose: 1, examples: knownCases.map((c) => [c] as [Step[]]), ...replay },
  )
})
