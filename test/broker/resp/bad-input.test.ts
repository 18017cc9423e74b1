// Bad input over the network: each malformed request gets Redis's `-ERR Protocol error: ...` and
// the connection is closed; commands before it in the same packet still run; the broker keeps
// serving its other clients (Redis, NATS); inline (telnet) commands work; random garbage from
// many clients never takes the broker down; slow consumers are cut by the broker's policy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'nats'
import { RawResp, confirmations, respBroker, until } from './_util.js'

const cases: [string, string, string][] = [
  ['bad multibulk count', '*x\r\n', 'ERR Protocol error: invalid multibulk length'],
  ['negative bulk length', '*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
  ['expected $', '*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
  ['unbalanced quotes', 'ECHO "oops\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ['too many arguments', `*${1024 * 1024 + 1}\r\n`, 'ERR Protocol error: invalid multibulk length'],
  ['channel over max bulk', `*2\r\n$9\r\nSUBSCRIBE\r\n$${1024 * 1024 + 1}\r\n`, 'ERR Protocol error: invalid bulk length'],
  ['payload over max payload', `*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$${1024 * 1024 + 1}\r\n`, 'ERR Protocol error: invalid bulk length'],
]

for (const [name, input, error] of cases) {
  test(`bad input: ${name} -> -${error}, then close; others keep being served`, async (t) => {
    const b = await respBroker(t)
    const watcher = await RawResp.open(b.resp!.port, t)
    watcher.send('subscribe', 'still.here')
    await confirmations(watcher, 'subscribe', ['still.here'])
    const bad = await RawResp.open(b.resp!.port, t)
    bad.write(`PING\r\n${input}`)
    assert.equal(await bad.read(), 'PONG')
    assert.deepEqual(await bad.read(), { error })
    assert.equal(await bad.closedByServer(), '')
    const r = await RawResp.open(b.resp!.port, t)
    assert.equal(await r.call('publish', 'still.here', 'ok'), 1)
    assert.deepEqual(await watcher.read(), ['message', 'still.here', 'ok'])
  })
}

test('inline commands (telnet style) work, pipelined and split', async (t) => {
  const b = await respBroker(t)
  const r = await RawResp.open(b.resp!.port, t)
  r.write('PING\r\nECHO "two words"\nSUBSC')
  r.write('RIBE tel.net\r\n')
  assert.equal(await r.read(), 'PONG')
  assert.equal(await r.read(), 'two words')
  assert.deepEqual(await r.read(), ['subscribe', 'tel.net', 1])
  const p = await RawResp.open(b.resp!.port, t)
  p.write('publish tel.net "hi there"\r\n')
  assert.equal(await p.read(), 1)
  assert.deepEqual(await r.read(), ['message', 'tel.net', 'hi there'])
})

test('random garbage from many clients never stops the broker', async (t) => {
  const b = await respBroker(t)
  const nc = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => nc.close())
  for (let i = 0; i < 40; i++) {
    const c = await RawResp.open(b.resp!.port, t)
    c.write(i % 2 === 0 ? randomBytes(512) : Buffer.concat([Buffer.from('*3\r\n$7\r\nPUBLISH\r\n'), randomBytes(64)]))
  }
  await new Promise((r) => setTimeout(r, 100))
  const r = await RawResp.open(b.resp!.port, t)
  assert.equal(await r.call('ping'), 'PONG')
  await nc.flush()
})

test('a RESP subscriber that stops reading is cut as a slow consumer; publishing goes on', async (t) => {
  const b = await respBroker(t, { maxPendingBytes: 256 * 1024 })
  const stuck = await RawResp.open(b.resp!.port, t)
  stuck.send('subscribe', 'flood')
  await confirmations(stuck, 'subscribe', ['flood'])
  stuck.socket.pause()
  const healthy = await RawResp.open(b.resp!.port, t)
  healthy.send('psubscribe', 'fl*')
  await confirmations(healthy, 'psubscribe', ['fl*'])
  let read = 0
  healthy.socket.on('data', (d: Buffer) => (read += d.length))
  const nc = await connect({ servers: `127.0.0.1:${b.port}` })
  t.after(() => nc.close())
  const payload = new Uint8Array(16 * 1024)
  // Bounded: at most 64 MiB, far beyond loopback socket buffers plus max_pending.
  for (let i = 0; i < 4096 && b.stats.slowConsumers === 0; i++) {
    nc.publish('flood', payload)
    if (i % 64 === 63) await nc.flush()
  }
  await until(() => b.stats.slowConsumers === 1, 5000, 'slow consumer cut')
  await until(() => b.resp!.connections.size === 1, 3000, 'stuck connection gone')
  assert.ok(read > 0)
  assert.deepEqual(await b.resp!.channelCounts.size, 0, 'its subscription is gone from PUBSUB')
  const r = await RawResp.open(b.resp!.port, t)
  assert.equal(await r.call('publish', 'flood', 'after'), 1)
})

test('a RESP subscriber that reads nothing at all is cut by the write deadline', async (t) => {
  const b = await respBroker(t, { maxPendingBytes: 64 * 1024 * 1024, writeDeadlineMs: 300 })
  const stuck = await RawResp.open(b.resp!.port, t)
  stuck.send('subscribe', 'big')
  await confirmations(stuck, 'subscribe', ['big'])
  stuck.socket.pause()
  const r = await RawResp.open(b.resp!.port, t)
  const payload = Buffer.alloc(512 * 1024)
  for (let i = 0; i < 64 && b.stats.slowConsumers === 0; i++) {
    r.send('publish', 'big', payload)
    await r.read()
  }
  await until(() => b.stats.slowConsumers === 1, 5000, 'write deadline cut')
})
