// dead_letter_subject under the creator's publish permissions (issue #23, smaller item): the broker
// republishes a dead letter itself, so a user who may create consumers but not publish to, say,
// `orders.>` could have stream data injected there. A consumer create or update naming a dead
// letter subject the requesting user may not publish to is refused (403) and nothing is created
// or changed; a request relayed by a route or leafnode (user unknown here) may not name one at all.
// Switchyard only: dead_letter_subject is a Switchyard extension (nats-server 2.9 has none).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'

const sc = StringCodec()

interface Reply {
  error?: { code: number; err_code: number; description: string }
  config?: { dead_letter_subject?: string }
}

const users = [
  { user: 'admin', password: 'a' },
  // May drive JetStream and publish to work.> and dlq.ok, nothing else.
  { user: 'dev', password: 'd', permissions: { publish: { allow: ['$JS.API.>', '$JS.ACK.>', '_INBOX.>', 'work.>', 'dlq.ok'] } } },
]

describe('dead_letter_subject and the creator\'s publish permissions', () => {
  let broker: Broker
  let admin: NatsConnection
  let dev: NatsConnection
  const api = async (nc: NatsConnection, subject: string, body: unknown): Promise<Reply> =>
    JSON.parse(sc.decode((await nc.request(`$JS.API.${subject}`, sc.encode(JSON.stringify(body)), { timeout: 5000 })).data)) as Reply
  const create = (nc: NatsConnection, name: string, dlq: string | undefined): Promise<Reply> =>
    api(nc, `CONSUMER.DURABLE.CREATE.W.${name}`, { stream_name: 'W', config: { durable_name: name, ack_policy: 'explicit', max_deliver: 1, ...(dlq === undefined ? {} : { dead_letter_subject: dlq }) } })
  const names = async (): Promise<string[]> => ((await api(admin, 'CONSUMER.NAMES.W', {})) as { consumers?: string[] }).consumers?.sort() ?? []

  before(async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, users, jetstream: { domain: 'hub' } })
    admin = await connect({ port: broker.port, user: 'admin', pass: 'a', reconnect: false })
    dev = await connect({ port: broker.port, user: 'dev', pass: 'd', reconnect: false })
    await api(admin, 'STREAM.CREATE.W', { name: 'W', subjects: ['work.>'], storage: 'memory' })
  })
  after(async () => {
    await dev?.close()
    await admin?.close()
    await broker?.close()
  })

  test('a user may not name a dead letter subject it may not publish to', async () => {
    const r = await create(dev, 'D1', 'orders.new')
    assert.equal(r.error?.code, 403, JSON.stringify(r))
    assert.equal(r.error?.err_code, 10012)
    assert.deepEqual(await names(), [])
  })

  test('a subject it may publish to is accepted, and an update to a forbidden one is refused', async () => {
    const r = await create(dev, 'D2', 'dlq.ok')
    assert.equal(r.error, undefined, JSON.stringify(r))
    const u = await create(dev, 'D2', 'orders.new')
    assert.equal(u.error?.code, 403, JSON.stringify(u))
    const info = await api(admin, 'CONSUMER.INFO.W.D2', {})
    assert.equal(info.config?.dead_letter_subject, 'dlq.ok')
  })

  test('a consumer without a dead letter subject needs no extra permission', async () => {
    assert.equal((await create(dev, 'D3', undefined)).error, undefined)
  })

  test('a user without publish restrictions may name any subject', async () => {
    const r = await create(admin, 'A1', 'orders.new')
    assert.equal(r.error, undefined, JSON.stringify(r))
  })

  test('a wildcard or invalid dead letter subject is refused for everyone', async () => {
    for (const dlq of ['orders.*', 'orders.>', 'a..b', 'a b']) {
      const r = await create(admin, 'A2', dlq)
      assert.equal(r.error?.code, 400, `${dlq}: ${JSON.stringify(r)}`)
    }
    assert.ok(!(await names()).includes('A2'))
  })

  test('the dead letter of an accepted consumer is published where it says', async () => {
    const got: string[] = []
    const sub = admin.subscribe('dlq.ok', { callback: (_e, m) => got.push(`${m.headers?.get('Nats-Consumer')} ${sc.decode(m.data)}`) })
    await admin.flush()
    await dev.jetstream().publish('work.1', sc.encode('job'))
    const m = await dev.request('$JS.API.CONSUMER.MSG.NEXT.W.D2', sc.encode('{"batch":1}'), { timeout: 3000, noMux: true })
    dev.publish(m.reply as string, sc.encode('-NAK'))
    for (let i = 0; i < 300 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(got, ['D2 job'])
    sub.unsubscribe()
  })

  test('a create relayed by a peer (route or leafnode) may not name a dead letter subject', async () => {
    const inbox = admin.subscribe('_INBOX.relayed', { max: 2 })
    await admin.flush()
    const body = (name: string, dlq?: string): Buffer =>
      Buffer.from(JSON.stringify({ stream_name: 'W', config: { durable_name: name, ack_policy: 'explicit', ...(dlq === undefined ? {} : { dead_letter_subject: dlq }) } }))
    // What a route or leaf connection hands the broker for a `$JS.hub.API` request from another node.
    broker.deliverFromPeer('$JS.hub.API.CONSUMER.DURABLE.CREATE.W.P1', '_INBOX.relayed', -1, body('P1', 'dlq.ok'), undefined)
    broker.deliverFromPeer('$JS.hub.API.CONSUMER.DURABLE.CREATE.W.P2', '_INBOX.relayed', -1, body('P2'), undefined)
    const replies: Reply[] = []
    for await (const m of inbox) replies.push(JSON.parse(sc.decode(m.data)) as Reply)
    assert.equal(replies[0]?.error?.code, 403, JSON.stringify(replies[0]))
    assert.equal(replies[1]?.error, undefined, JSON.stringify(replies[1]))
    const now = await names()
    assert.ok(!now.includes('P1') && now.includes('P2'), JSON.stringify(now))
  })
})
