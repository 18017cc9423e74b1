// Redis pub/sub semantics, case by case after Redis's own suite (tests/unit/pubsub.tcl): subscribe
// and unsubscribe confirmations and counts, PUBLISH receiver counts (channel + pattern both count),
// PUBSUB introspection, PING in and out of subscribed mode on RESP2 and RESP3, CLIENT REPLY OFF,
// publish to self ordering, and the RESP2 subscribed-mode restriction.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawResp, confirmations, respBroker, unpush, until, type Reply } from './_util.js'

async function setup(t: Parameters<typeof respBroker>[0]) {
  const b = await respBroker(t)
  const port = b.resp!.port
  const r = await RawResp.open(port, t)
  const client = () => RawResp.open(port, t)
  return { b, r, client }
}

const msg = async (c: RawResp): Promise<Reply> => unpush(await c.read())

for (const resp of [2, 3]) {
  test(`Pub/Sub PING on RESP${resp}`, async (t) => {
    const { client } = await setup(t)
    const rd1 = await client()
    if (resp === 3) assert.ok(await rd1.call('hello', '3'))
    rd1.send('subscribe', 'somechannel')
    assert.deepEqual(await confirmations(rd1, 'subscribe', ['somechannel']), [1])
    rd1.send('ping')
    rd1.send('ping', 'foo')
    if (resp === 3) {
      assert.equal(await rd1.read(), 'PONG')
      assert.equal(await rd1.read(), 'foo')
    } else {
      assert.deepEqual(await rd1.read(), ['pong', ''])
      assert.deepEqual(await rd1.read(), ['pong', 'foo'])
    }
    rd1.send('unsubscribe', 'somechannel')
    assert.deepEqual(await confirmations(rd1, 'unsubscribe', ['somechannel']), [0])
    assert.equal(await rd1.call('ping'), 'PONG')
  })
}

test('PUBLISH/SUBSCRIBE basics', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('subscribe', 'chan1', 'chan2')
  assert.deepEqual(await confirmations(rd1, 'subscribe', ['chan1', 'chan2']), [1, 2])
  assert.equal(await r.call('publish', 'chan1', 'hello'), 1)
  assert.equal(await r.call('publish', 'chan2', 'world'), 1)
  assert.deepEqual(await rd1.read(), ['message', 'chan1', 'hello'])
  assert.deepEqual(await rd1.read(), ['message', 'chan2', 'world'])
  rd1.send('unsubscribe', 'chan1')
  assert.deepEqual(await confirmations(rd1, 'unsubscribe', ['chan1']), [1])
  assert.equal(await r.call('publish', 'chan1', 'hello'), 0)
  assert.equal(await r.call('publish', 'chan2', 'world'), 1)
  assert.deepEqual(await rd1.read(), ['message', 'chan2', 'world'])
  rd1.send('unsubscribe', 'chan2')
  assert.deepEqual(await confirmations(rd1, 'unsubscribe', ['chan2']), [0])
  assert.equal(await r.call('publish', 'chan1', 'hello'), 0)
  assert.equal(await r.call('publish', 'chan2', 'world'), 0)
})

test('PUBLISH/SUBSCRIBE with two clients', async (t) => {
  const { r, client } = await setup(t)
  const [rd1, rd2] = [await client(), await client()]
  rd1.send('subscribe', 'chan1')
  rd2.send('subscribe', 'chan1')
  assert.deepEqual(await confirmations(rd1, 'subscribe', ['chan1']), [1])
  assert.deepEqual(await confirmations(rd2, 'subscribe', ['chan1']), [1])
  assert.equal(await r.call('publish', 'chan1', 'hello'), 2)
  assert.deepEqual(await rd1.read(), ['message', 'chan1', 'hello'])
  assert.deepEqual(await rd2.read(), ['message', 'chan1', 'hello'])
})

test('PUBLISH/SUBSCRIBE after UNSUBSCRIBE without arguments', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('subscribe', 'chan1', 'chan2', 'chan3')
  assert.deepEqual(await confirmations(rd1, 'subscribe', ['chan1', 'chan2', 'chan3']), [1, 2, 3])
  rd1.send('unsubscribe')
  assert.deepEqual((await confirmations(rd1, 'unsubscribe', ['chan1', 'chan2', 'chan3'])).sort(), [0, 1, 2])
  assert.match(String(await r.call('client', 'list')), /cmd=unsubscribe/)
  for (const ch of ['chan1', 'chan2', 'chan3']) assert.equal(await r.call('publish', ch, 'hello'), 0)
})

test('SUBSCRIBE to one channel more than once', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('subscribe', 'chan1', 'chan1', 'chan1')
  assert.deepEqual(await confirmations(rd1, 'subscribe', ['chan1', 'chan1', 'chan1']), [1, 1, 1])
  assert.equal(await r.call('publish', 'chan1', 'hello'), 1)
  assert.deepEqual(await rd1.read(), ['message', 'chan1', 'hello'])
  assert.ok(await rd1.quiet())
})

test('UNSUBSCRIBE from non-subscribed channels', async (t) => {
  const { client } = await setup(t)
  const rd1 = await client()
  rd1.send('unsubscribe', 'foo', 'bar', 'quux')
  assert.deepEqual(await confirmations(rd1, 'unsubscribe', ['foo', 'bar', 'quux']), [0, 0, 0])
})

test('PUBLISH/PSUBSCRIBE basics', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('psubscribe', 'foo.*', 'bar.*')
  assert.deepEqual(await confirmations(rd1, 'psubscribe', ['foo.*', 'bar.*']), [1, 2])
  assert.equal(await r.call('publish', 'foo.1', 'hello'), 1)
  assert.equal(await r.call('publish', 'bar.1', 'hello'), 1)
  assert.equal(await r.call('publish', 'foo1', 'hello'), 0)
  assert.equal(await r.call('publish', 'barfoo.1', 'hello'), 0)
  assert.equal(await r.call('publish', 'qux.1', 'hello'), 0)
  assert.deepEqual(await rd1.read(), ['pmessage', 'foo.*', 'foo.1', 'hello'])
  assert.deepEqual(await rd1.read(), ['pmessage', 'bar.*', 'bar.1', 'hello'])
  rd1.send('punsubscribe', 'foo.*')
  assert.deepEqual(await confirmations(rd1, 'punsubscribe', ['foo.*']), [1])
  assert.equal(await r.call('publish', 'foo.1', 'hello'), 0)
  assert.equal(await r.call('publish', 'bar.1', 'hello'), 1)
  assert.deepEqual(await rd1.read(), ['pmessage', 'bar.*', 'bar.1', 'hello'])
  rd1.send('punsubscribe', 'bar.*')
  assert.deepEqual(await confirmations(rd1, 'punsubscribe', ['bar.*']), [0])
  assert.equal(await r.call('publish', 'foo.1', 'hello'), 0)
  assert.equal(await r.call('publish', 'bar.1', 'hello'), 0)
})

test('PUBLISH/PSUBSCRIBE with two clients', async (t) => {
  const { r, client } = await setup(t)
  const [rd1, rd2] = [await client(), await client()]
  rd1.send('psubscribe', 'chan.*')
  rd2.send('psubscribe', 'chan.*')
  await confirmations(rd1, 'psubscribe', ['chan.*'])
  await confirmations(rd2, 'psubscribe', ['chan.*'])
  assert.equal(await r.call('publish', 'chan.foo', 'hello'), 2)
  assert.deepEqual(await rd1.read(), ['pmessage', 'chan.*', 'chan.foo', 'hello'])
  assert.deepEqual(await rd2.read(), ['pmessage', 'chan.*', 'chan.foo', 'hello'])
})

test('PUBLISH/PSUBSCRIBE after PUNSUBSCRIBE without arguments', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('psubscribe', 'chan1.*', 'chan2.*', 'chan3.*')
  assert.deepEqual(await confirmations(rd1, 'psubscribe', ['chan1.*', 'chan2.*', 'chan3.*']), [1, 2, 3])
  rd1.send('punsubscribe')
  assert.deepEqual((await confirmations(rd1, 'punsubscribe', ['chan1.*', 'chan2.*', 'chan3.*'])).sort(), [0, 1, 2])
  for (const ch of ['chan1.hi', 'chan2.hi', 'chan3.hi']) assert.equal(await r.call('publish', ch, 'hello'), 0)
})

test('PubSub messages with CLIENT REPLY OFF (RESP3)', async (t) => {
  const { r, client } = await setup(t)
  const rd = await client()
  await rd.call('hello', '3')
  rd.send('client', 'reply', 'off')
  rd.send('subscribe', 'channel')
  assert.deepEqual(await confirmations(rd, 'subscribe', ['channel']), [1])
  rd.send('psubscribe', 'ch*')
  assert.deepEqual(await confirmations(rd, 'psubscribe', ['ch*']), [2])
  assert.equal(await r.call('publish', 'channel', 'hello'), 2)
  assert.deepEqual(await msg(rd), ['message', 'channel', 'hello'])
  assert.deepEqual(await msg(rd), ['pmessage', 'ch*', 'channel', 'hello'])
  rd.send('unsubscribe', 'channel')
  assert.deepEqual(await confirmations(rd, 'unsubscribe', ['channel']), [1])
  rd.send('punsubscribe', 'ch*')
  assert.deepEqual(await confirmations(rd, 'punsubscribe', ['ch*']), [0])
  // Replies stay off; SKIP and ON behave as in Redis.
  rd.send('ping')
  assert.ok(await rd.quiet())
  assert.equal(await rd.call('client', 'reply', 'on'), 'OK')
  rd.send('client', 'reply', 'skip')
  rd.send('ping', 'skipped')
  assert.equal(await rd.call('ping', 'shown'), 'shown')
})

test('PUNSUBSCRIBE from non-subscribed channels', async (t) => {
  const { client } = await setup(t)
  const rd1 = await client()
  rd1.send('punsubscribe', 'foo.*', 'bar.*', 'quux.*')
  assert.deepEqual(await confirmations(rd1, 'punsubscribe', ['foo.*', 'bar.*', 'quux.*']), [0, 0, 0])
})

test('NUMSUB returns numbers, not strings, as a flat array in RESP3 too', async (t) => {
  const { r, client } = await setup(t)
  assert.deepEqual(await r.call('pubsub', 'numsub', 'abc', 'def'), ['abc', 0, 'def', 0])
  const rd = await client()
  rd.send('subscribe', 'abc')
  await confirmations(rd, 'subscribe', ['abc'])
  await r.call('hello', '3')
  assert.deepEqual(await r.call('pubsub', 'numsub', 'abc', 'def'), ['abc', 1, 'def', 0])
})

test('NUMPATs returns the number of unique patterns; PUBSUB CHANNELS filters by glob', async (t) => {
  const { r, client } = await setup(t)
  const [rd1, rd2] = [await client(), await client()]
  rd1.send('psubscribe', 'foo*')
  rd2.send('psubscribe', 'foo*')
  rd1.send('psubscribe', 'bar*')
  rd2.send('psubscribe', 'baz*')
  await confirmations(rd1, 'psubscribe', ['foo*', 'bar*'])
  await confirmations(rd2, 'psubscribe', ['foo*', 'baz*'])
  assert.equal(await r.call('pubsub', 'numpat'), 3)
  rd1.send('subscribe', 'news.a', 'news.b', 'other')
  await confirmations(rd1, 'subscribe', ['news.a', 'news.b', 'other'])
  assert.deepEqual(((await r.call('pubsub', 'channels', 'news.*')) as string[]).sort(), ['news.a', 'news.b'])
  assert.deepEqual(((await r.call('pubsub', 'channels')) as string[]).sort(), ['news.a', 'news.b', 'other'])
  rd1.close()
  await until(() => true)
  await new Promise((res) => setTimeout(res, 50))
  assert.deepEqual(await r.call('pubsub', 'channels'), [])
  assert.equal(await r.call('pubsub', 'numpat'), 2)
})

test('Mix SUBSCRIBE and PSUBSCRIBE: both deliver and PUBLISH counts 2', async (t) => {
  const { r, client } = await setup(t)
  const rd1 = await client()
  rd1.send('subscribe', 'foo.bar')
  assert.deepEqual(await confirmations(rd1, 'subscribe', ['foo.bar']), [1])
  rd1.send('psubscribe', 'foo.*')
  assert.deepEqual(await confirmations(rd1, 'psubscribe', ['foo.*']), [2])
  assert.equal(await r.call('publish', 'foo.bar', 'hello'), 2)
  assert.deepEqual(await rd1.read(), ['message', 'foo.bar', 'hello'])
  assert.deepEqual(await rd1.read(), ['pmessage', 'foo.*', 'foo.bar', 'hello'])
})

test('PUNSUBSCRIBE and UNSUBSCRIBE should always reply', async (t) => {
  const { r } = await setup(t)
  assert.deepEqual(await r.call('punsubscribe'), ['punsubscribe', null, 0])
  assert.deepEqual(await r.call('unsubscribe'), ['unsubscribe', null, 0])
  await r.call('hello', '3')
  assert.deepEqual(await r.call('unsubscribe'), { push: ['unsubscribe', null, 0] })
})

test('publish to self on RESP3: the reply comes before the message, in order', async (t) => {
  const { r } = await setup(t)
  await r.call('hello', '3')
  r.send('subscribe', 'foo')
  await confirmations(r, 'subscribe', ['foo'])
  r.send('ping', 'abc')
  r.send('publish', 'foo', 'bar')
  r.send('publish', 'foo', 'vaz')
  r.send('ping', 'def')
  assert.deepEqual([await r.read(), await r.read(), await r.read(), await r.read(), await r.read(), await r.read()], [
    'abc',
    1,
    { push: ['message', 'foo', 'bar'] },
    1,
    { push: ['message', 'foo', 'vaz'] },
    'def',
  ])
})

test('messages from one publisher arrive in publish order, interleaved with replies in order', async (t) => {
  const { r, client } = await setup(t)
  const sub = await client()
  await sub.call('hello', '3')
  sub.send('subscribe', 'seq')
  await confirmations(sub, 'subscribe', ['seq'])
  const n = 500
  for (let i = 0; i < n; i++) r.send('publish', 'seq', String(i))
  for (let i = 0; i < n; i++) assert.equal(await r.read(), 1)
  sub.send('ping', 'between')
  for (let i = 0; i < n; i++) assert.deepEqual(await sub.read(), { push: ['message', 'seq', String(i)] })
  assert.equal(await sub.read(), 'between')
})

test('RESP2 subscribed mode allows only (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET; RESP3 allows everything', async (t) => {
  const { r } = await setup(t)
  r.send('subscribe', 'x')
  await confirmations(r, 'subscribe', ['x'])
  assert.deepEqual(await r.call('get', 'k'), { error: "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context" })
  assert.deepEqual(await r.call('nosuchcmd', 'k'), { error: "ERR unknown command 'nosuchcmd', with args beginning with: 'k' " })
  assert.deepEqual(await r.call('echo', 'k'), { error: "ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context" })
  assert.deepEqual(await r.call('client', 'id'), { error: "ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context" })
  assert.equal(await r.call('reset'), 'RESET')
  assert.equal(await r.call('echo', 'free again'), 'free again')
  await r.call('hello', '3')
  r.send('subscribe', 'x')
  await confirmations(r, 'subscribe', ['x'])
  assert.equal(await r.call('echo', 'k'), 'k')
  assert.equal(typeof (await r.call('client', 'id')), 'number')
})

test('unknown commands, arity and subcommand errors use Redis texts', async (t) => {
  const { r } = await setup(t)
  assert.deepEqual(await r.call('FOO'), { error: "ERR unknown command 'FOO', with args beginning with: " })
  assert.deepEqual(await r.call('set', 'a', 'b'), { error: "ERR unknown command 'set', with args beginning with: 'a' 'b' " })
  assert.deepEqual(await r.call('publish', 'a'), { error: "ERR wrong number of arguments for 'publish' command" })
  assert.deepEqual(await r.call('subscribe'), { error: "ERR wrong number of arguments for 'subscribe' command" })
  assert.deepEqual(await r.call('ping', 'a', 'b'), { error: "ERR wrong number of arguments for 'ping' command" })
  assert.deepEqual(await r.call('client', 'nope'), { error: "ERR unknown subcommand 'nope'. Try CLIENT HELP." })
  assert.deepEqual(await r.call('client', 'setname'), { error: "ERR wrong number of arguments for 'client|setname' command" })
  assert.deepEqual(await r.call('hello', '4'), { error: 'NOPROTO unsupported protocol version' })
  assert.deepEqual(await r.call('hello', 'x'), { error: 'ERR Protocol version is not an integer or out of range' })
  assert.deepEqual(await r.call('hello', '3', 'bogus'), { error: "ERR Syntax error in HELLO option 'bogus'" })
  // The connection still serves.
  assert.equal(await r.call('ping'), 'PONG')
})

test('HELLO, CLIENT SETNAME/GETNAME/ID/INFO/LIST, ECHO, SELECT, QUIT, RESET', async (t) => {
  const { r, client } = await setup(t)
  const h = (await r.call('hello', '3', 'setname', 'conn-a')) as { map: [Reply, Reply][] }
  const fields = Object.fromEntries(h.map.map(([k, v]) => [k, v]))
  assert.equal(fields['proto'], 3)
  assert.equal(fields['server'], 'redis')
  assert.equal(await r.call('client', 'getname'), 'conn-a')
  const id = await r.call('client', 'id')
  assert.equal(typeof id, 'number')
  assert.match(String(await r.call('client', 'info')), new RegExp(`^id=${id} .*name=conn-a .*resp=3`))
  assert.deepEqual(await r.call('client', 'setname', 'has space'), { error: 'ERR Client names cannot contain spaces, newlines or special characters.' })
  assert.equal(await r.call('echo', Buffer.from([0, 1, 2])), '\u0000\u0001\u0002')
  assert.equal(await r.call('select', '9'), 'OK')
  assert.deepEqual(await r.call('select', '99'), { error: 'ERR DB index is out of range' })
  assert.equal(await r.call('reset'), 'RESET')
  assert.equal(await r.call('client', 'getname'), null)
  const h2 = (await r.call('hello')) as Reply[]
  assert.equal(h2[5], 2)
  const q = await client()
  assert.equal(await q.call('quit'), 'OK')
  await q.closedByServer()
})

test('fan-out: every subscriber gets the exact push bytes, whatever the mix of RESP2/RESP3, channel and pattern subscribers', async (t) => {
  // The broker copies one prepared push to further subscribers of a message (front-end.ts preOf, wholeOf);
  // mixing heads in one fan-out and payloads either side of the copy/view threshold must not change a byte.
  const { r: pub, client } = await setup(t)
  const subs: { c: RawResp; resp3: boolean; pattern: boolean }[] = []
  for (const [resp3, pattern] of [[false, false], [false, false], [true, false], [false, true], [true, false], [false, false], [true, true], [false, true]] as const) {
    const c = await client()
    if (resp3) assert.ok(await c.call('hello', '3'))
    c.send(pattern ? 'psubscribe' : 'subscribe', pattern ? 'fan.*' : 'fan.x')
    await c.read()
    subs.push({ c, resp3, pattern })
  }
  for (const size of [0, 5, 200, 8191, 8192, 20000]) {
    const payload = Buffer.alloc(size)
    for (let i = 0; i < size; i++) payload[i] = (i * 7 + size) & 255
    for (let k = 0; k < 2; k++) assert.equal(await pub.call('publish', 'fan.x', payload), subs.length)
    for (const { c, resp3, pattern } of subs) {
      const head = pattern ? `${resp3 ? '>' : '*'}4\r\n$8\r\npmessage\r\n$5\r\nfan.*\r\n` : `${resp3 ? '>' : '*'}3\r\n$7\r\nmessage\r\n`
      const want = Buffer.concat([Buffer.from(`${head}$5\r\nfan.x\r\n$${size}\r\n`), payload, Buffer.from('\r\n')])
      for (let k = 0; k < 2; k++) assert.deepEqual(await c.readRaw(), want, `size ${size}, resp3 ${resp3}, pattern ${pattern}, copy ${k}`)
    }
  }
})

test('fan-out pushes carved from shared slabs: a pipelined burst across several slabs reaches two subscribers byte for byte', async (t) => {
  // front-end.ts wholeOf builds each push once in a 256 KiB slab and queues views; consecutive
  // pushes join into one chunk per subscriber (outbound.ts). 300 pushes of 2-5 KiB cross slabs.
  const { b, r: pub, client } = await setup(t)
  const subs = [await client(), await client()]
  for (const c of subs) {
    c.send('subscribe', 'slab.x')
    await c.read()
  }
  const payloads: Buffer[] = []
  for (let k = 0; k < 300; k++) {
    const p = Buffer.alloc(2000 + ((k * 131) % 3000))
    for (let i = 0; i < p.length; i++) p[i] = (i * 13 + k) & 255
    payloads.push(p)
  }
  // One write: the broker routes the whole burst in one turn or a few.
  b.publish('slab.x', payloads[0] as Buffer)
  for (const p of payloads.slice(1)) pub.send('publish', 'slab.x', p)
  const want = Buffer.concat(payloads.map((p) => Buffer.concat([Buffer.from(`*3\r\n$7\r\nmessage\r\n$6\r\nslab.x\r\n$${p.length}\r\n`), p, Buffer.from('\r\n')])))
  for (const c of subs) {
    const got: Buffer[] = []
    let n = 0
    while (n < want.length) {
      const chunk = await c.readRaw()
      got.push(chunk)
      n += chunk.length
    }
    assert.ok(Buffer.concat(got).equals(want), 'every push intact and in order')
  }
})
