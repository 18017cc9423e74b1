// Numbers and types in JetStream API requests (issue #23, item 1), against our broker and
// nats-server 2.9: a purge to sequence 1e18 with a pull request waiting hung our broker at 100% CPU
// (float sequences stop incrementing past 2^53) and corrupted a file stream across a restart; fields
// of the wrong type or fractional numbers were accepted (`PURGE {"filter": 123}` purged everything).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AckPolicy, connect, headers, StorageType, StringCodec, type NatsConnection } from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'
import { startJsProcess, type JsProcess } from './_js-process.js'

const sc = StringCodec()

interface ApiReply {
  error?: { code: number; err_code: number; description: string }
  [k: string]: unknown
}

async function api(nc: NatsConnection, subject: string, body: unknown): Promise<ApiReply> {
  const m = await nc.request(subject, sc.encode(typeof body === 'string' ? body : JSON.stringify(body)), { timeout: 3000 })
  return JSON.parse(sc.decode(m.data)) as ApiReply
}

/** Resolves false when the server does not answer a PING within `ms`. */
async function responsive(nc: NatsConnection, ms = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))
  try {
    return await Promise.race([nc.flush().then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

for (const name of jsTargets) {
  test(`purge to seq 1e18 with a waiting pull request: server stays up, sequences stay exact across a restart (${name})`, async (t) => {
    const target: JsProcess = await startJsProcess(name)
    t.after(() => target.stop())
    let nc = await connect({ port: target.port, reconnect: false })
    t.after(() => nc.close())
    const jsm = await nc.jetstreamManager()
    const js = nc.jetstream()
    await jsm.streams.add({ name: 'P', subjects: ['p.>'], storage: StorageType.File })
    await js.publish('p.a', sc.encode('first'))
    await jsm.consumers.add('P', { durable_name: 'C', ack_policy: AckPolicy.Explicit })
    const inbox = `_INBOX.pull.${name}`
    const pulled: { data: string; reply: string }[] = []
    nc.subscribe(inbox, { callback: (_e, m) => pulled.push({ data: sc.decode(m.data), reply: m.reply ?? '' }) })
    const pull = (): void => nc.publish('$JS.API.CONSUMER.MSG.NEXT.P.C', sc.encode(JSON.stringify({ batch: 1, expires: 20_000_000_000 })), { reply: inbox })
    // The first pull takes the message (left unacked), the second one waits.
    pull()
    for (let i = 0; i < 200 && pulled.length === 0; i++) await nc.flush()
    assert.equal(pulled[0]?.data, 'first')
    pull()
    assert.ok(await responsive(nc), 'server answers before the purge')

    const purge = await api(nc, '$JS.API.STREAM.PURGE.P', '{"seq":1000000000000000000}')
    // The ack makes the consumer look for the next message: that is where the old code spun forever.
    nc.publish(pulled[0]?.reply ?? '', sc.encode('+ACK'))
    assert.ok(await responsive(nc), 'server still answers after the purge and an ack')
    const extra = await connect({ port: target.port, reconnect: false, timeout: 3000 })
    await extra.close()

    // nats-server has uint64 sequences and takes it; Switchyard refuses what it cannot count exactly.
    const accepted = purge.error === undefined
    if (name === 'nats-server') assert.ok(accepted)
    else assert.equal(purge.error?.err_code, 10025)
    const pa = await js.publish('p.b', sc.encode('after'))
    assert.equal(pa.seq, accepted ? 1e18 : 2)
    for (let i = 0; i < 200 && pulled.length < 2; i++) await nc.flush()
    assert.deepEqual(pulled.map((m) => m.data), ['first', 'after'])
    const before = await jsm.streams.info('P')

    await nc.close()
    await target.restart()
    nc = await connect({ port: target.port, reconnect: false })
    const info = await (await nc.jetstreamManager()).streams.info('P')
    assert.deepEqual([info.state.messages, info.state.first_seq, info.state.last_seq], [before.state.messages, before.state.first_seq, before.state.last_seq])
    const last = await (await nc.jetstreamManager()).streams.getMessage('P', { seq: pa.seq })
    assert.equal(sc.decode(last.data), 'after')
  })

  describe(`JetStream API field types (${name})`, () => {
    let target: JsTarget
    let nc: NatsConnection
    before(async () => {
      target = await startJsTarget(name)
      nc = await connect({ port: target.port, reconnect: false })
      const jsm = await nc.jetstreamManager()
      await jsm.streams.add({ name: 'S', subjects: ['s.>'] })
      const js = nc.jetstream()
      for (let i = 0; i < 3; i++) await js.publish('s.a', sc.encode(`m${i}`))
      await jsm.consumers.add('S', { durable_name: 'C', ack_policy: AckPolicy.Explicit })
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    const cases: [string, unknown, number][] = [
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], max_msgs: 1.5 }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], max_age: '-1s' }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], max_bytes: '1' }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], max_msgs: 1e30 }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: 'x.>' }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], deny_purge: 'yes' }, 10025],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], num_replicas: -3 }, 10133],
      ['STREAM.CREATE.X', { name: 'X', subjects: ['x.>'], duplicate_window: -1 }, 10052],
      ['STREAM.PURGE.S', { filter: 123 }, 10025],
      ['STREAM.PURGE.S', { seq: 1.5 }, 10025],
      ['STREAM.PURGE.S', { seq: -1 }, 10025],
      ['STREAM.PURGE.S', { seq: '3' }, 10025],
      ['STREAM.PURGE.S', { keep: -1 }, 10025],
      ['STREAM.PURGE.S', { keep: 'a' }, 10025],
      ['STREAM.MSG.GET.S', { seq: 1.5 }, 10025],
      ['STREAM.MSG.GET.S', { seq: 'a' }, 10025],
      ['STREAM.MSG.GET.S', { seq: -1 }, 10025],
      ['STREAM.MSG.GET.S', { last_by_subj: 5 }, 10025],
      ['STREAM.MSG.DELETE.S', { seq: 'a' }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { max_deliver: 1.5 } }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { deliver_policy: 'by_start_sequence', opt_start_seq: 1e30 } }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { max_ack_pending: 'x' } }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { ack_wait: 1.5 } }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { backoff: [1.5] } }, 10025],
      ['CONSUMER.CREATE.S', { stream_name: 'S', config: { max_waiting: -4 } }, 10087],
    ]
    for (const [subject, body, errCode] of cases) {
      test(`${subject} ${JSON.stringify(body)} is refused with ${errCode}`, async () => {
        const r = await api(nc, `$JS.API.${subject}`, body)
        assert.equal(r.error?.err_code, errCode, JSON.stringify(r))
      })
    }

    test('refused purges removed nothing', async () => {
      const info = await (await nc.jetstreamManager()).streams.info('S')
      assert.deepEqual([info.state.messages, info.state.first_seq, info.state.last_seq], [3, 1, 3])
    })

    for (const body of ['{"batch":"abc"}', '{"batch":1.5}', '{"expires":"1s"}', '{"batch":1e30}']) {
      test(`MSG.NEXT ${body} is answered 400 Bad Request`, async () => {
        const m = await nc.request('$JS.API.CONSUMER.MSG.NEXT.S.C', sc.encode(body), { timeout: 3000, noMux: true })
        assert.equal(m.headers?.code, 400)
        assert.match(m.headers?.description ?? '', /^Bad Request/)
      })
    }

    // Expected-sequence headers are decimal integers (Go's parser): any other spelling of the right
    // number is a mismatch, not a match, and nothing is stored.
    for (const [header, value] of [['Nats-Expected-Last-Sequence', '0x3'], ['Nats-Expected-Last-Sequence', '3e0'], ['Nats-Expected-Last-Sequence', '3.0'], ['Nats-Expected-Last-Subject-Sequence', '0x3'], ['Nats-Expected-Last-Subject-Sequence', '3.0']] as const) {
      test(`a publish with ${header}: ${value} is refused as a wrong last sequence`, async () => {
        const h = headers()
        h.set(header, value)
        const m = await nc.request('s.a', sc.encode('late'), { headers: h, timeout: 3000 })
        const r = JSON.parse(sc.decode(m.data)) as ApiReply
        assert.equal(r.error?.err_code, 10071, JSON.stringify(r))
        const info = await (await nc.jetstreamManager()).streams.info('S')
        assert.equal(info.state.last_seq, 3)
      })
    }
  })
}
