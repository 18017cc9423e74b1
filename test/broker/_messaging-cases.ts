// The messaging half of the NATS conformance suite, written once and run in two shapes: every
// client on one server (conformance.test.ts, against Switchyard and nats-server), and publishers
// on one node with subscribers on the others (cluster/conformance.test.ts). `sub` connections
// subscribe, `pub` connections publish; `settle()` returns once the publishing side knows of every
// subscription made so far (a no-op on one server, a route round trip in a cluster).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { headers, StringCodec, ErrorCode, type ConnectionOptions, type NatsConnection, type NatsError, type Msg } from 'nats'

export interface MessagingEnv {
  pub(extra?: ConnectionOptions): Promise<NatsConnection>
  sub(extra?: ConnectionOptions): Promise<NatsConnection>
  settle(): Promise<void>
}

const sc = StringCodec()
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function collect(sub: AsyncIterable<Msg>, into: Msg[]): Promise<void> {
  for await (const m of sub) into.push(m)
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition')
    await delay(10)
  }
}

/** Registers the messaging tests; `env()` is called inside each test (after the suite's `before`). */
export function messagingCases(env: () => MessagingEnv): void {
  test('pub/sub with literal and wildcard subjects', async () => {
    const e = env()
    const sub = await e.sub()
    const pub = await e.pub()
    const lit: Msg[] = []
    const star: Msg[] = []
    const gt: Msg[] = []
    void collect(sub.subscribe('a.b.c'), lit)
    void collect(sub.subscribe('a.*.c'), star)
    void collect(sub.subscribe('a.>'), gt)
    await sub.flush()
    await e.settle()
    for (const s of ['a.b.c', 'a.x.c', 'a.b', 'a.b.c.d', 'a', 'b.b.c']) pub.publish(s, sc.encode(s))
    await pub.flush()
    await until(() => gt.length >= 4 && star.length >= 2 && lit.length >= 1)
    await sub.flush()
    // A negative check, not a wait for state: no wrong subject may arrive in the next 20 ms.
    await delay(20)
    assert.deepEqual(lit.map((m) => m.subject), ['a.b.c'])
    assert.deepEqual(star.map((m) => m.subject), ['a.b.c', 'a.x.c'])
    assert.deepEqual(gt.map((m) => m.subject), ['a.b.c', 'a.x.c', 'a.b', 'a.b.c.d'])
    assert.equal(sc.decode(gt[3]!.data), 'a.b.c.d')
  })

  test('unsubscribe stops delivery; the other subscriptions keep theirs', async () => {
    const e = env()
    const c = await e.sub()
    const pub = await e.pub()
    const kept: Msg[] = []
    const gone: Msg[] = []
    void collect(c.subscribe('u.*'), kept)
    const s = c.subscribe('u.x')
    void collect(s, gone)
    await c.flush()
    await e.settle()
    pub.publish('u.x', sc.encode('1'))
    await pub.flush()
    await until(() => kept.length === 1 && gone.length === 1)
    s.unsubscribe()
    await c.flush()
    await e.settle()
    pub.publish('u.x', sc.encode('2'))
    await pub.flush()
    await until(() => kept.length === 2)
    await c.flush()
    assert.equal(gone.length, 1)
  })

  test('queue groups: exactly one copy per group, even-ish spread; plain subscribers get all', async () => {
    const e = env()
    const members: Msg[][] = [[], [], []]
    const plain: Msg[] = []
    for (const m of members) {
      const c = await e.sub()
      void collect(c.subscribe('work', { queue: 'q' }), m)
      await c.flush()
    }
    const p = await e.sub()
    void collect(p.subscribe('work'), plain)
    await p.flush()
    await e.settle()
    const pub = await e.pub()
    const N = 300
    for (let i = 0; i < N; i++) pub.publish('work', sc.encode(String(i)))
    await pub.flush()
    await until(() => plain.length === N && members.reduce((s, m) => s + m.length, 0) === N)
    // A negative check, not a wait for state: no second copy may arrive in the next 50 ms.
    await delay(50)
    const seen = members.flat().map((m) => Number(sc.decode(m.data))).sort((a, b) => a - b)
    assert.deepEqual(seen, Array.from({ length: N }, (_, i) => i), 'each message once to the group')
    for (const m of members) assert.ok(m.length >= N / 6, `member got ${m.length} of ${N}`)
  })

  test('request/reply through the mux inbox, and 503 no-responders', async () => {
    const e = env()
    const svc = await e.sub()
    svc.subscribe('svc.echo', { callback: (_e, m) => m.respond(sc.encode(`echo:${sc.decode(m.data)}`)) })
    await svc.flush()
    const c = await e.pub()
    await c.flush()
    await e.settle()
    const replies = await Promise.all([1, 2, 3].map((i) => c.request('svc.echo', sc.encode(String(i)), { timeout: 2000 })))
    assert.deepEqual(replies.map((r) => sc.decode(r.data)), ['echo:1', 'echo:2', 'echo:3'])
    await assert.rejects(c.request('svc.nobody', sc.encode('x'), { timeout: 2000 }), (err: NatsError) => err.code === ErrorCode.NoResponders)
  })

  test('headers: repeated keys and values survive the round trip', async () => {
    const e = env()
    const c = await e.sub()
    const pub = await e.pub()
    const got: Msg[] = []
    void collect(c.subscribe('h'), got)
    await c.flush()
    await e.settle()
    const h = headers()
    h.append('X-One', 'a')
    h.append('X-One', 'b')
    h.set('X-Two', 'c d')
    pub.publish('h', sc.encode('body'), { headers: h })
    await until(() => got.length === 1)
    const m = got[0]!
    assert.deepEqual(m.headers?.values('X-One'), ['a', 'b'])
    assert.equal(m.headers?.get('X-Two'), 'c d')
    assert.equal(sc.decode(m.data), 'body')
  })

  test('auto-unsubscribe after max messages', async () => {
    const e = env()
    const c = await e.sub()
    const pub = await e.pub()
    const got: Msg[] = []
    const sub = c.subscribe('auto', { max: 3 })
    const done = collect(sub, got)
    await c.flush()
    await e.settle()
    for (let i = 0; i < 10; i++) pub.publish('auto', sc.encode(String(i)))
    await done
    assert.equal(got.length, 3)
  })

  test('drain delivers what was in flight, then closes', async () => {
    const e = env()
    const c = await e.sub()
    const pub = await e.pub()
    const got: Msg[] = []
    const done = collect(c.subscribe('drain.me'), got)
    await c.flush()
    await e.settle()
    for (let i = 0; i < 50; i++) pub.publish('drain.me')
    await pub.flush()
    // In a cluster: the subscriber's node has the 50 messages (not necessarily its client).
    await e.settle()
    await c.drain()
    await done
    assert.equal(got.length, 50)
    assert.equal(c.isClosed(), true)
  })

  test('echo:false suppresses own messages only', async () => {
    const e = env()
    const self = await e.pub({ noEcho: true })
    const other = await e.sub()
    const mine: Msg[] = []
    const theirs: Msg[] = []
    void collect(self.subscribe('echo'), mine)
    void collect(other.subscribe('echo'), theirs)
    await self.flush()
    await other.flush()
    await e.settle()
    self.publish('echo', sc.encode('x'))
    await self.flush()
    await until(() => theirs.length === 1)
    await self.flush()
    assert.equal(mine.length, 0)
  })
}
