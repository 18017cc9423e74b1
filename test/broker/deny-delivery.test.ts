// Subscribe deny rules are checked per delivered subject (issue #23, item 2): a user allowed
// `public.>` and denied `public.secret.>` may subscribe to `public.>`, but never receives a message
// on `public.secret.*`, with or without a queue group. Same tests against nats-server 2.9.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection, type Subscription } from 'nats'
import { startTarget, targets, type Target } from './_targets.js'

const sc = StringCodec()
const users = [
  { user: 'pub', password: 'p' },
  { user: 'ro', password: 'r', permissions: { subscribe: { allow: ['public.>', '_INBOX.>'], deny: ['public.secret.>', 'public.*.private'] } } },
  { user: 'all', password: 'a' },
]

/** Publishes `subjects` then a marker, and returns what `sub` received before the marker. */
async function received(pub: NatsConnection, subNc: NatsConnection, sub: Subscription, subjects: string[]): Promise<string[]> {
  await subNc.flush()
  for (const s of subjects) pub.publish(s, sc.encode(s))
  pub.publish('public.end.mark', sc.encode('end'))
  await pub.flush()
  const got: string[] = []
  for await (const m of sub) {
    if (m.subject === 'public.end.mark') break
    got.push(m.subject)
  }
  return got
}

for (const name of targets()) {
  describe(`deny rules at delivery: ${name}`, { timeout: 20_000 }, () => {
    let target: Target
    let pub: NatsConnection
    let ro: NatsConnection
    before(async () => {
      target = await startTarget(name, { users })
      pub = await connect({ port: target.port, user: 'pub', pass: 'p', reconnect: false })
      ro = await connect({ port: target.port, user: 'ro', pass: 'r', reconnect: false })
    })
    after(async () => {
      await pub?.close()
      await ro?.close()
      await target?.stop()
    })

    const sent = ['public.news', 'public.secret.plan', 'public.secret.a.b', 'public.x.private', 'public.x.shared']
    const allowed = ['public.news', 'public.x.shared']

    test('a wildcard subscription does not receive denied subjects', async () => {
      const sub = ro.subscribe('public.>')
      assert.deepEqual(await received(pub, ro, sub, sent), allowed)
      sub.unsubscribe()
    })

    test('the same with a queue group', async () => {
      const sub = ro.subscribe('public.>', { queue: 'q' })
      assert.deepEqual(await received(pub, ro, sub, sent), allowed)
      sub.unsubscribe()
    })

    test('repeated subjects stay filtered (cached decision)', async () => {
      const sub = ro.subscribe('public.*.*')
      const many = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'public.secret.plan' : 'public.x.shared'))
      assert.deepEqual(await received(pub, ro, sub, many), Array.from({ length: 10 }, () => 'public.x.shared'))
      sub.unsubscribe()
    })

    test('in a queue group shared with an allowed user, denied messages go to the allowed member', async () => {
      const other = await connect({ port: target.port, user: 'all', pass: 'a', reconnect: false })
      try {
        const roGot: string[] = []
        const roSub = ro.subscribe('public.>', { queue: 'w', callback: (_e, m) => roGot.push(m.subject) })
        const got: string[] = []
        const otherSub = other.subscribe('public.>', { queue: 'w', callback: (_e, m) => got.push(m.subject) })
        await other.flush()
        await ro.flush()
        for (let i = 0; i < 10; i++) pub.publish('public.secret.plan')
        await pub.flush()
        for (let i = 0; i < 100 && got.length < 10; i++) await other.flush()
        // Whatever the server wrote to ro before answering this PING has been read by now.
        await ro.flush()
        assert.deepEqual(roGot, [])
        assert.equal(got.filter((s) => s === 'public.secret.plan').length, 10)
        roSub.unsubscribe()
        otherSub.unsubscribe()
      } finally {
        await other.close()
      }
    })
  })
}
