// The smuggling / malformed-request corpus end to end through the real proxy (all builtin
// plugins): every case gets exactly one 4xx, no request reaches the origin, and a canary request
// pipelined after it on the same connection is never forwarded (the connection is closed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import { backend, startProxy } from '../_helpers.js'
import { CORPUS } from './_corpus.js'

function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const s = connect(port, '127.0.0.1', () => {
      s.write(Buffer.from(raw + 'GET /canary HTTP/1.1\r\nHost: app.test\r\n\r\n', 'latin1'))
    })
    const timer = setTimeout(() => s.destroy(), 2000)
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
  })
}

test(`smuggling corpus (${CORPUS.length} raw requests): 4xx, nothing reaches the origin, no desync`, async (t) => {
  assert.ok(CORPUS.length >= 100, `corpus has only ${CORPUS.length} cases`)
  const seen: string[] = []
  const origin = await backend(t, 'origin', (req, res) => {
    seen.push(`${req.method} ${req.url}`)
    req.resume()
    req.on('end', () => res.end('origin'))
  })
  const { port } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      pools: { app: { servers: [origin.url] } },
      routes: [{ pool: 'app' }],
      limits: { maxBodyBytes: 1_000_000 },
    },
    { plugins: builtinPlugins },
  )
  // Positive control: a well-formed request and its canary both reach the origin.
  const good = await exchange(port, 'POST /ok HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello')
  assert.equal((good.match(/HTTP\/1\.1 200/g) ?? []).length, 2, good)
  assert.deepEqual(seen, ['POST /ok', 'GET /canary'])
  seen.length = 0

  const failures: string[] = []
  const slow: string[] = []
  // A few connections at a time: fast, and still one case per connection.
  for (let i = 0; i < CORPUS.length; i += 8) {
    await Promise.all(
      CORPUS.slice(i, i + 8).map(async ([name, raw]) => {
        const t0 = Date.now()
        const out = await exchange(port, raw)
        if (Date.now() - t0 > 1500) slow.push(name)
        const statuses = [...out.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]))
        if (statuses.length !== 1 || (statuses[0] as number) < 400 || (statuses[0] as number) > 499) {
          failures.push(`${name}: statuses ${JSON.stringify(statuses)} ${JSON.stringify(out.slice(0, 120))}`)
        }
      }),
    )
  }
  assert.deepEqual(failures, [], `cases not refused with exactly one 4xx:\n${failures.join('\n')}`)
  // Every refusal closes the connection at once (no waiting for a timeout).
  assert.deepEqual(slow, [], `connections not closed promptly: ${slow.join(', ')}`)
  assert.deepEqual(seen, [], `requests reached the origin: ${seen.join(', ')}`)
  // The proxy still serves normally afterwards.
  const after = await exchange(port, 'GET /after HTTP/1.1\r\nHost: app.test\r\n\r\n')
  assert.match(after, /HTTP\/1\.1 200/)
})
