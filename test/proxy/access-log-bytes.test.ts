// The proxy's own answers (error replies from the core, respond() from plugins such as the rate
// limiter) log the body bytes they really sent, on the fast path as on node:http: the fast path's
// end() writes the access log line at once, so the count must be known before it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { builtinPlugins, type ProxyConfigInput } from '../../src/proxy/index.js'
import { startProxy, waitFor } from './_helpers.js'

for (const fast of [true, false]) {
  test(`access log: the proxy's own 5xx and 429 answers log their real body bytes (${fast ? 'fast path' : 'node:http'})`, async (t) => {
    const out = new PassThrough()
    const logs: Record<string, unknown>[] = []
    let partial = ''
    out.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const l of lines) if (l !== '') logs.push(JSON.parse(l) as Record<string, unknown>)
    })
    const { url } = await startProxy(
      t,
      {
        listeners: [{ port: 0, address: '127.0.0.1' }],
        // Port 9 (discard) on loopback refuses connections: every forward fails (502/503).
        pools: { app: { servers: ['http://127.0.0.1:9'] } },
        limits: { rate: [{ name: 'all', rate: 0.001, burst: 1 }] },
        fastPath: { client: fast },
        accessLog: { enabled: true },
      } as unknown as ProxyConfigInput,
      { plugins: builtinPlugins, accessLogStream: out },
    )
    const answers: { status: number; bytes: number }[] = []
    for (let i = 0; i < 2; i++) {
      const r = await request(`${url}/x`)
      answers.push({ status: r.statusCode, bytes: Buffer.byteLength(await r.body.text()) })
    }
    await waitFor(() => logs.length >= 2, 5000, 'two access-log lines')
    assert.ok((answers[0]?.status ?? 0) >= 502, `first answer ${answers[0]?.status}`)
    assert.equal(answers[1]?.status, 429)
    for (let i = 0; i < 2; i++) {
      assert.ok((answers[i]?.bytes ?? 0) > 0)
      assert.deepEqual([logs[i]?.['status'], logs[i]?.['body_bytes_sent']], [answers[i]?.status, answers[i]?.bytes], `answer ${i}`)
    }
  })
}
