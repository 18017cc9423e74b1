// A client that pipelines past maxRequestsPerConnection must still get every answer the proxy
// sent before it closed. Closing a socket with unread request bytes makes the kernel send a reset,
// which destroys answers the client has not read yet (found by a probe: 104 of 1000 arrived). The
// fast path now lingers as nginx does: ends its side, reads and drops the rest, closes after the
// client does (or after a quiet 5 s).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { backend, sleep, startProxy } from '../_helpers.js'

const LIMIT = 200
const SENT = 600

/** Everything the socket receives until it closes, and how it closed. */
function collect(s: Socket): Promise<{ text: string; error: string | undefined }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let error: string | undefined
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message
    })
    s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), error }))
  })
}

test(`pipelining ${SENT} requests past maxRequestsPerConnection ${LIMIT}: all ${LIMIT} answers arrive, then a clean close (no reset)`, { timeout: 60_000 }, async (t) => {
  // Answers of 4 KiB, so the 200 of them (800 KiB) fill the socket buffers while the client waits.
  const body = 'x'.repeat(4096)
  const b = await backend(t, 'a', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  const { proxy, port } = await startProxy(t, {
    listeners: [{ port: 0, address: '127.0.0.1', limits: { maxRequestsPerConnection: LIMIT } }],
    pools: { app: { servers: [b.url] } },
  }, { plugins: builtinPlugins })
  const s = connect(port, '127.0.0.1')
  t.after(() => s.destroy())
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject))
  s.pause()
  const done = collect(s)
  s.pause()
  // 1 KiB requests: 600 KiB in all, more than the proxy reads ahead (256 KiB) while it answers, so
  // some of the pipeline is still unread in the kernel when it closes.
  const pad = 'p'.repeat(1000)
  const reqs = Array.from({ length: SENT }, (_, i) => `GET /r/${i} HTTP/1.1\r\nhost: a.test\r\nx-pad: ${pad}\r\n\r\n`).join('')
  s.write(reqs)
  // Read nothing for a while: the proxy answers the first LIMIT, queues what the client has not
  // read, and closes with the rest of the pipeline unread.
  await sleep(1000)
  s.resume()
  const { text, error } = await done
  const answers = text.split('HTTP/1.1 200 OK\r\n').length - 1
  assert.equal(error, undefined, `the connection ended with ${error} after ${answers} answers`)
  assert.equal(answers, LIMIT)
  const last = text.slice(text.lastIndexOf('HTTP/1.1 200 OK\r\n'))
  assert.match(last, /\r\nconnection: close\r\n/i)
  assert.ok(last.endsWith(body), 'the last answer is complete')
  assert.equal(proxy.fastPathRequests, LIMIT)
})
