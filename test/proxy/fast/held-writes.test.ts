// The fast path holds socket writes until the end of the event-loop turn (held-writes.ts): the
// bytes must stay in order, go out at the turn's end, go out at once on end(), and a response of
// the fast path must use it (without holding, a plain TCP socket hands a small write to the
// kernel at once and writableLength is 0 right after it).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { holdWrites } from '../../../src/proxy/fast/held-writes.js'
import { FastResponse, type ResponseOwner } from '../../../src/proxy/fast/fast-message.js'

/** A connected pair on loopback: `ours` writes, `peer` collects what arrives. */
async function pair(t: TestContext): Promise<{ ours: Socket; peer: Socket; received: () => string; ended: Promise<unknown> }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const ours = connect(port, '127.0.0.1')
  await once(ours, 'connect')
  const [peer] = await accepted
  let text = ''
  peer.on('data', (c: Buffer) => { text += c.toString('latin1') })
  const ended = once(peer, 'end')
  t.after(() => { ours.destroy(); peer.destroy(); server.close() })
  return { ours, peer, received: () => text, ended }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('held writes stay in the socket until the turn ends, then arrive in order', async (t) => {
  const { ours, received } = await pair(t)
  holdWrites(ours)
  ours.write('a')
  holdWrites(ours) // a second hold in the same turn is the same hold
  ours.write('bc')
  assert.equal(ours.writableLength, 3, 'held: nothing handed to the kernel yet')
  assert.equal(ours.writableCorked, 1)
  await nextTurn()
  assert.equal(ours.writableCorked, 0)
  await until(() => received() === 'abc', '"abc"')
  assert.equal(ours.writableLength, 0)
})

test("a caller's own cork/uncork pair inside a hold keeps the hold; one before it is left alone", async (t) => {
  const { ours, received } = await pair(t)
  holdWrites(ours)
  ours.cork()
  ours.write('1')
  ours.write('2')
  ours.uncork()
  assert.equal(ours.writableLength, 2, 'still held after the inner uncork')
  await nextTurn()
  await until(() => received() === '12', '"12"')
  // Inside someone's cork pair, holdWrites does not add a level: their uncork sends at once.
  ours.cork()
  holdWrites(ours)
  ours.write('3')
  ours.uncork()
  assert.equal(ours.writableCorked, 0)
  await until(() => received() === '123', '"123"')
})

test('end() sends held bytes at once, then the end of stream; a destroyed socket is released quietly', async (t) => {
  const { ours, received, ended } = await pair(t)
  holdWrites(ours)
  ours.write('last words')
  ours.end()
  await ended
  assert.equal(received(), 'last words')
  const other = await pair(t)
  holdWrites(other.ours)
  other.ours.write('dropped')
  other.ours.destroy()
  await nextTurn() // the release finds it destroyed: no throw, nothing written
  assert.equal(other.ours.destroyed, true)
})

test('a fast-path response is held until the turn ends and arrives whole', async (t) => {
  const { ours, received } = await pair(t)
  const done: boolean[] = []
  const owner: ResponseOwner = { responseDone: (_res, close) => { done.push(close) }, keepAliveHeader: 'connection: keep-alive\r\n\r\n' }
  const res = new FastResponse(ours, 'GET', false, owner)
  res.sendDate = false
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' })
  res.end('ok')
  assert.ok(ours.writableLength > 0, 'the answer is held, not yet in the kernel')
  assert.deepEqual(done, [false])
  await nextTurn()
  await until(() => received().endsWith('\r\n\r\nok'), 'the whole answer')
  assert.match(received(), /^HTTP\/1\.1 200 OK\r\ncontent-type: text\/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok$/)
})

test('a large fast-path write first sends what the socket holds (no backpressure from holding)', async (t) => {
  const { ours, received } = await pair(t)
  const owner: ResponseOwner = { responseDone: () => {}, keepAliveHeader: 'connection: keep-alive\r\n\r\n' }
  holdWrites(ours)
  ours.write('earlier answer|')
  const res = new FastResponse(ours, 'GET', false, owner)
  res.sendDate = false
  res.writeHead(200, { 'content-length': String(64 * 1024) })
  const ok = res.write(Buffer.alloc(64 * 1024, 'z'))
  assert.equal(ours.writableCorked, 0, 'released before the large write')
  assert.equal(ok, !ours.writableNeedDrain)
  res.end()
  // Everything: the earlier bytes, the head (up to its blank line) and the 64 KiB body.
  await until(() => received().indexOf('\r\n\r\n') > 0 && received().length === received().indexOf('\r\n\r\n') + 4 + 64 * 1024, 'everything')
  assert.ok(received().startsWith('earlier answer|HTTP/1.1 200 OK\r\n'))
  assert.ok(received().endsWith('z'.repeat(100)))
})
