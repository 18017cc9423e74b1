// Real Redis clients, unchanged: ioredis (RESP2 and RESP3), node-redis v5 (RESP2 and RESP3) and
// redis-cli: subscribe, psubscribe, PUBLISH's receiver count, and password authentication.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { respBroker, until } from './_util.js'

const run = promisify(execFile)
const users = [{ user: 'default', password: 's3cret' }]

for (const protocol of [2, 3] as const) {
  test(`ioredis RESP${protocol}: subscribe, psubscribe, publish count, auth`, async (t) => {
    const b = await respBroker(t, { users })
    const opts = { port: b.resp!.port, host: '127.0.0.1', password: 's3cret', protocol, maxRetriesPerRequest: 1, retryStrategy: () => null }
    const sub = new Redis(opts)
    const pub = new Redis(opts)
    t.after(() => {
      sub.disconnect()
      pub.disconnect()
    })
    const got: string[] = []
    sub.on('message', (ch: string, m: string) => got.push(`message ${ch} ${m}`))
    sub.on('pmessage', (p: string, ch: string, m: string) => got.push(`pmessage ${p} ${ch} ${m}`))
    assert.equal(await sub.subscribe('news.sport'), 1)
    assert.equal(await sub.psubscribe('news.*'), 2)
    assert.equal(await pub.publish('news.sport', 'goal'), 2)
    assert.equal(await pub.publish('news.weather', 'rain'), 1)
    assert.equal(await pub.publish('other', 'x'), 0)
    await until(() => got.length === 3, 3000, 'three messages')
    assert.deepEqual(got, ['message news.sport goal', 'pmessage news.* news.sport goal', 'pmessage news.* news.weather rain'])
    const bad = new Redis({ ...opts, password: 'wrong', lazyConnect: true })
    t.after(() => bad.disconnect())
    const errors: string[] = []
    bad.on('error', (e: Error) => errors.push(e.message))
    await bad.connect().catch(() => {})
    await until(() => errors.length > 0, 3000, 'auth error')
    assert.match(errors[0] ?? '', /WRONGPASS/)
  })
}

for (const RESP of [2, 3] as const) {
  test(`node-redis v5 RESP${RESP}: subscribe, pSubscribe, publish count, auth`, async (t) => {
    const b = await respBroker(t, { users })
    const pub = createClient({ socket: { port: b.resp!.port, host: '127.0.0.1', reconnectStrategy: false }, password: 's3cret', RESP })
    pub.on('error', () => {})
    await pub.connect()
    const sub = pub.duplicate()
    sub.on('error', () => {})
    await sub.connect()
    t.after(async () => {
      await sub.close().catch(() => {})
      await pub.close().catch(() => {})
    })
    const got: string[] = []
    await sub.subscribe('news.sport', (m, ch) => got.push(`message ${ch} ${m}`))
    await sub.pSubscribe('news.*', (m, ch) => got.push(`pmessage ${ch} ${m}`))
    assert.equal(await pub.publish('news.sport', 'goal'), 2)
    assert.equal(await pub.publish('news.weather', 'rain'), 1)
    await until(() => got.length === 3, 3000, 'three messages')
    assert.deepEqual(got, ['message news.sport goal', 'pmessage news.sport goal', 'pmessage news.weather rain'])
    assert.equal(await pub.pubSubNumPat(), 1)
    assert.deepEqual({ ...(await pub.pubSubNumSub(['news.sport', 'none'])) }, { 'news.sport': 1, none: 0 })
    await sub.unsubscribe('news.sport')
    assert.equal(await pub.publish('news.sport', 'again'), 1)
    const bad = createClient({ socket: { port: b.resp!.port, host: '127.0.0.1', reconnectStrategy: false }, password: 'wrong', RESP })
    bad.on('error', () => {})
    await assert.rejects(bad.connect(), /WRONGPASS/)
  })
}

test('redis-cli: PUBLISH count, SUBSCRIBE and PSUBSCRIBE (RESP3, -3) output, AUTH with -a', async (t) => {
  const b = await respBroker(t, { users })
  const port = String(b.resp!.port)
  const cli = ['-h', '127.0.0.1', '-p', port, '--no-auth-warning', '-a', 's3cret']
  const sub = spawn('redis-cli', [...cli, 'subscribe', 'cli.chan'])
  t.after(() => sub.kill('SIGKILL'))
  let out = ''
  sub.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const psub = spawn('redis-cli', [...cli, '-3', 'psubscribe', 'cli.*'])
  t.after(() => psub.kill('SIGKILL'))
  let pout = ''
  psub.stdout.on('data', (d: Buffer) => (pout += d.toString()))
  await until(() => out.includes('cli.chan') && pout.includes('cli.*'), 5000, 'redis-cli subscribed')
  const published = await run('redis-cli', [...cli, 'publish', 'cli.chan', 'hello from cli'])
  assert.equal(published.stdout.trim(), '2')
  await until(() => out.includes('hello from cli') && pout.includes('hello from cli'), 5000, 'message shown')
  assert.deepEqual(out.trim().split('\n'), ['subscribe', 'cli.chan', '1', 'message', 'cli.chan', 'hello from cli'])
  assert.deepEqual(pout.trim().split('\n'), ['psubscribe', 'cli.*', '1', 'pmessage', 'cli.*', 'cli.chan', 'hello from cli'])
  const r3 = await run('redis-cli', [...cli, '-3', 'hello'])
  assert.match(r3.stdout, /proto 3/)
  const noauth = await run('redis-cli', ['-h', '127.0.0.1', '-p', port, 'publish', 'cli.chan', 'x'])
  assert.match(noauth.stdout + noauth.stderr, /NOAUTH Authentication required/)
  const wrong = await run('redis-cli', ['-h', '127.0.0.1', '-p', port, '--no-auth-warning', '-a', 'nope', 'ping'])
  assert.match(wrong.stdout + wrong.stderr, /WRONGPASS|invalid username-password/)
})
