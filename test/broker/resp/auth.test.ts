// Redis clients and the broker's users: AUTH password / AUTH user password / HELLO AUTH, checked by
// the broker's authenticator (bcrypt hashes in its worker pool), NOAUTH before it, RESET
// de-authenticating, token auth, and publish/subscribe permissions on the mapped subjects
// (NOPERM, and deny rules applied per delivered message to pattern subscriptions).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bcrypt from 'bcryptjs'
import { RawResp, confirmations, respBroker } from './_util.js'

const WRONGPASS = { error: 'WRONGPASS invalid username-password pair or user is disabled.' }
const NOAUTH = { error: 'NOAUTH Authentication required.' }

test('AUTH password is the default user, AUTH user password any user; NOAUTH before; RESET de-authenticates', async (t) => {
  const b = await respBroker(t, { users: [{ user: 'default', password: 'dpass' }, { user: 'alice', password: 'apass' }] })
  const r = await RawResp.open(b.resp!.port, t)
  assert.deepEqual(await r.call('ping'), NOAUTH)
  assert.deepEqual(await r.call('subscribe', 'x'), NOAUTH)
  // Unknown commands are reported as such even before AUTH (Redis checks the command first).
  assert.deepEqual(await r.call('nope'), { error: "ERR unknown command 'nope', with args beginning with: " })
  assert.deepEqual(await r.call('auth', 'wrong'), WRONGPASS)
  assert.deepEqual(await r.call('auth', 'alice', 'dpass'), WRONGPASS)
  assert.deepEqual(await r.call('auth', 'a', 'b', 'c'), { error: 'ERR syntax error' })
  assert.equal(await r.call('auth', 'dpass'), 'OK')
  assert.equal(await r.call('ping'), 'PONG')
  assert.equal(await r.call('auth', 'alice', 'apass'), 'OK')
  assert.match(String(await r.call('client', 'info')), / user=alice /)
  assert.equal(await r.call('reset'), 'RESET')
  assert.deepEqual(await r.call('ping'), NOAUTH)
  assert.deepEqual(await r.call('hello', '3'), { error: 'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time' })
  assert.deepEqual(await r.call('hello', '3', 'auth', 'alice', 'bad'), WRONGPASS)
  const h = (await r.call('hello', '3', 'auth', 'alice', 'apass')) as { map: unknown[][] }
  assert.deepEqual(h.map[2], ['proto', 3])
})

test('before AUTH Redis allows small requests only: more than 10 arguments or a 16 KiB bulk is a protocol error', async (t) => {
  const b = await respBroker(t, { users: [{ user: 'default', password: 'p' }] })
  const r = await RawResp.open(b.resp!.port, t)
  r.write('*11\r\n')
  assert.deepEqual(await r.read(), { error: 'ERR Protocol error: unauthenticated multibulk length' })
  await r.closedByServer()
  const r2 = await RawResp.open(b.resp!.port, t)
  r2.write('*2\r\n$4\r\nAUTH\r\n$16385\r\n')
  assert.deepEqual(await r2.read(), { error: 'ERR Protocol error: unauthenticated bulk length' })
})

test('without broker auth: AUTH password is refused as in Redis, AUTH default anything is OK', async (t) => {
  const b = await respBroker(t)
  const r = await RawResp.open(b.resp!.port, t)
  assert.deepEqual(await r.call('auth', 'x'), { error: 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?' })
  assert.equal(await r.call('auth', 'default', 'x'), 'OK')
  assert.deepEqual(await r.call('auth', 'bob', 'x'), WRONGPASS)
})

test('token auth: AUTH <token>', async (t) => {
  const b = await respBroker(t, { token: 'tok' })
  const r = await RawResp.open(b.resp!.port, t)
  assert.deepEqual(await r.call('auth', 'nope'), WRONGPASS)
  assert.equal(await r.call('auth', 'tok'), 'OK')
})

test('bcrypt passwords are checked off the event loop; commands pipelined after AUTH wait for it, in order', async (t) => {
  const hash = await bcrypt.hash('right', 8)
  const b = await respBroker(t, { users: [{ user: 'slow', password: hash }] })
  const r = await RawResp.open(b.resp!.port, t)
  r.send('auth', 'slow', 'wrong')
  r.send('ping', 'a')
  assert.deepEqual(await r.read(), WRONGPASS)
  assert.deepEqual(await r.read(), NOAUTH)
  r.write(Buffer.concat([Buffer.from('*3\r\n$4\r\nAUTH\r\n$4\r\nslow\r\n$5\r\nright\r\n'), Buffer.from('*2\r\n$4\r\nPING\r\n$1\r\nb\r\n')]))
  r.send('echo', 'c')
  assert.equal(await r.read(5000), 'OK')
  assert.equal(await r.read(), 'b')
  assert.equal(await r.read(), 'c')
})

test('permissions apply to the mapped subjects: NOPERM on publish/subscribe, deny rules per delivered message', async (t) => {
  const users = [{ user: 'alice', password: 'a', permissions: { publish: { allow: ['open.>'] }, subscribe: { allow: ['open.>', 'wide.>'], deny: ['wide.hidden'] } } }]
  const b = await respBroker(t, { users })
  const r = await RawResp.open(b.resp!.port, t)
  assert.equal(await r.call('auth', 'alice', 'a'), 'OK')
  assert.deepEqual(await r.call('publish', 'closed.x', 'm'), { error: "NOPERM User alice has no permissions to access the 'closed.x' channel" })
  assert.equal(await r.call('publish', 'open.x', 'm'), 0)
  // All or nothing, as Redis's ACL check.
  assert.deepEqual(await r.call('subscribe', 'open.a', 'closed.b'), { error: "NOPERM User alice has no permissions to access the 'closed.b' channel" })
  // `wide*` needs `>` (no subject prefix can express it): refused; `wide.*` maps to wide.> and is allowed.
  assert.deepEqual(await r.call('psubscribe', 'wide*'), { error: "NOPERM User alice has no permissions to access the 'wide*' channel" })
  r.send('psubscribe', 'wide.*', 'wide.h?dden')
  assert.deepEqual(await confirmations(r, 'psubscribe', ['wide.*', 'wide.h?dden']), [1, 2])
  b.publish('wide.hidden', 'secret')
  b.publish('wide.open', 'fine')
  assert.deepEqual(await r.read(), ['pmessage', 'wide.*', 'wide.open', 'fine'])
  assert.ok(await r.quiet())
})
