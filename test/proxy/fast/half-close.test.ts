// A client that sends its requests and then half-closes (FIN: `printf ... | nc`, scripted clients)
// gets its answers on the fast path, pipelined ones included, and the connection then ends. Before,
// the FIN aborted the request in flight and such a client got nothing, even for a fast origin.
// A client that closed for good sends the same FIN: what is still unanswered a second later is
// aborted, its upstream request cancelled, whether the answer had not started or never ends.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { backend, startProxy, waitFor } from '../_helpers.js'

/** Sends `text`, half-closes, and collects what comes back until the proxy closes; with the time of the close. */
function sendThenHalfClose(port: number, text: string): Promise<{ got: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    let got = ''
    const s = connect(port, '127.0.0.1', () => s.end(text))
    s.on('data', (d: Buffer) => (got += d.toString('latin1')))
    s.on('error', () => {})
    s.on('close', () => resolve({ got, ms: Date.now() - started }))
    setTimeout(() => reject(new Error(`no close after 8 s; got ${JSON.stringify(got.slice(0, 200))}`)), 8000).unref()
  })
}

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1] as string)

test('half-close: every request sent before the FIN is answered, then the connection ends', async (t) => {
  const b = await backend(t, 'b')
  const { proxy, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const one = await sendThenHalfClose(port, 'GET /one HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.deepEqual(statuses(one.got), ['200'])
  const three = await sendThenHalfClose(port, 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.deepEqual(statuses(three.got), ['200', '200', '200'])
  // The answers are whole and in order.
  for (const p of ['/1', '/2', '/3']) assert.ok(three.got.includes(p), `answer for ${p}`)
  assert.ok(three.got.indexOf('/1') < three.got.indexOf('/2') && three.got.indexOf('/2') < three.got.indexOf('/3'))
  // A truncated head before the FIN: nothing to answer, closed at once.
  const trunc = await sendThenHalfClose(port, 'GET /x HTTP/1.1\r\nHost: a\r\n')
  assert.equal(trunc.got, '')
  assert.ok(trunc.ms < 900, `closed after ${trunc.ms} ms`)
  assert.ok(proxy.fastPathRequests >= 4, 'served on the fast path')
  await waitFor(() => proxy.generation.inflight === 0, 5000, 'nothing in flight')
})

test('half-close: an answer not started within a second, or one that never ends, is aborted and its upstream request cancelled', async (t) => {
  let open = 0
  let aborted = 0
  const b = await backend(t, 'b', (req, res) => {
    open++
    res.on('close', () => {
      open--
      if (!res.writableFinished) aborted++
    })
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('x'.repeat(100))
      return
    }
    // /slow: answers after 4 s
    setTimeout(() => res.end('late'), 4000).unref()
  })
  const { proxy, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } } })
  const slow = await sendThenHalfClose(port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal(slow.got, '')
  assert.ok(slow.ms >= 900 && slow.ms < 3000, `closed after ${slow.ms} ms`)
  const endless = await sendThenHalfClose(port, 'GET /endless HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.match(endless.got, /^HTTP\/1\.1 200 /)
  assert.ok(endless.ms >= 900 && endless.ms < 3000, `closed after ${endless.ms} ms`)
  await waitFor(() => open === 0, 5000, 'both upstream requests cancelled')
  assert.equal(aborted, 2)
  await waitFor(() => proxy.generation.inflight === 0, 5000, 'nothing in flight')
})
