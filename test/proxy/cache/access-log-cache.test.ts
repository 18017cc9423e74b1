// Every answer on a caching route logs its real body bytes and its cache verdict, whoever wrote
// it (the cache or the upstream exchange) and whichever way it came in (fast path or node:http).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cacheProxy, httpDate, scriptedOrigin } from './_scripted.js'

const BODY = 'x'.repeat(1234)

for (const fast of [true, false]) {
  test(`access log: body bytes and cache verdict of MISS, HIT, HEAD, 304, 206, REVALIDATED, STALE, BYPASS (${fast ? 'fast path' : 'node:http'})`, async (t) => {
    let failing = false
    const origin = await scriptedOrigin(t, {
      '/a': () => ({ headers: [['cache-control', 'max-age=600'], ['etag', '"a1"']], body: BODY }),
      '/v': (req) =>
        req.headers['if-none-match'] === '"v1"'
          ? { status: 304, headers: [['cache-control', 'max-age=0'], ['etag', '"v1"']] }
          : { headers: [['cache-control', 'max-age=0'], ['etag', '"v1"']], body: BODY },
      '/s': () => (failing ? { status: 503, body: 'down' } : { headers: [['cache-control', 'max-age=1, stale-if-error=600'], ['date', httpDate(-30)]], body: BODY }),
      '/w': () => ({ status: 204 }),
    })
    const p = await cacheProxy(t, origin, { fastPath: { client: fast } })
    const steps: [string, () => Promise<unknown>, number, string, number][] = [
      ['miss', () => p.get('/a'), 200, 'MISS', BODY.length],
      ['hit', () => p.get('/a'), 200, 'HIT', BODY.length],
      ['head hit', () => p.get('/a', {}, 'HEAD'), 200, 'HIT', 0],
      ['client 304', () => p.get('/a', { 'if-none-match': '"a1"' }), 304, 'HIT', 0],
      ['range', () => p.get('/a', { range: 'bytes=0-99' }), 206, 'HIT', 100],
      ['v miss', () => p.get('/v'), 200, 'MISS', BODY.length],
      ['revalidated', () => p.get('/v'), 200, 'REVALIDATED', BODY.length],
      ['s miss', () => p.get('/s'), 200, 'MISS', BODY.length],
      [
        'stale-if-error',
        async () => {
          failing = true
          return p.get('/s')
        },
        200,
        'STALE',
        BODY.length,
      ],
      ['post', () => p.get('/w', {}, 'POST'), 204, 'BYPASS', 0],
    ]
    let n = 0
    for (const [what, run, status, verdict, bytes] of steps) {
      await run()
      n++
      await p.waitLogs(n)
      const rec = p.logs[n - 1] as Record<string, unknown>
      assert.deepEqual([rec['status'], rec['cache'], rec['body_bytes_sent']], [status, verdict, bytes], what)
    }
  })
}

test('access log: an answer the cache did not write (the origin is down, nothing stored) still has a verdict', async (t) => {
  const origin = await scriptedOrigin(t, { '/gone': () => ({ disconnect: true }) })
  const p = await cacheProxy(t, origin)
  const r = await p.get('/gone')
  assert.ok(r.status >= 500)
  await p.waitLogs(1)
  assert.deepEqual([p.logs[0]?.['status'], p.logs[0]?.['cache']], [r.status, 'MISS'])
})
