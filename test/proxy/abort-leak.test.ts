// A client that disconnects cancels its upstream request: thousands of aborted requests leave no
// open upstream request, no leaked socket and no heap growth behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { backend, startProxy, waitFor } from './_helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

test('thousands of aborted requests: upstream requests cancelled, sockets and heap back to baseline', async (t) => {
  let upstreamOpen = 0
  let upstreamAborted = 0
  const b = await backend(t, 'slow', (req, res) => {
    upstreamOpen++
    res.on('close', () => {
      upstreamOpen--
      if (!res.writableFinished) upstreamAborted++
    })
    // Start a streaming answer that never finishes on its own.
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('x'.repeat(100))
    req.resume()
  })
  const { proxy, port } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [{ url: b.url, maxConnections: 64 }] } } })
  const server = proxy.generation.pools.get('app')?.servers[0]

  const N = 800
  const CONCURRENCY = 100
  async function one(i: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(`GET /slow/${i} HTTP/1.1\r\nhost: x\r\n\r\n`))
      s.once('data', () => s.destroy()) // headers arrived: hang up mid-body
      s.on('error', () => {})
      // Cleared on close: a pending timer would keep this test's own socket alive for 5 s and
      // count as heap growth when a phase takes less than that.
      const timer = setTimeout(() => s.destroy(), 5000).unref()
      s.on('close', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
  // Warm up (JIT, pools) before the heap baseline.
  for (let i = 0; i < 600; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => one(i + j)))
  await waitFor(() => upstreamOpen === 0, 5000, 'warm-up requests to be cancelled')
  const heap = async (): Promise<number> => {
    gc()
    await new Promise((r) => setTimeout(r, 50))
    gc()
    return process.memoryUsage().heapUsed
  }
  const phase = async (from: number): Promise<void> => {
    for (let i = 0; i < N; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => one(from + i + j)))
    await waitFor(() => upstreamOpen === 0, 10_000, 'every upstream request to be cancelled')
  }
  // Three equal phases: one-time growth (JIT, lazily built pools) and noise from a loaded machine
  // land in some of them; a leak grows the heap in every one.
  const h0 = await heap()
  await phase(1000)
  const h1 = await heap()
  await phase(5000)
  const h2 = await heap()
  await phase(9000)
  const h3 = await heap()
  await waitFor(() => upstreamOpen === 0, 10_000, 'every upstream request to be cancelled')
  await waitFor(() => proxy.connectionCount === 0, 5_000, 'client sockets to close')
  assert.equal(server?.active, 0)
  assert.ok(upstreamAborted >= 3 * N, `upstream saw ${upstreamAborted} aborted requests`)
  assert.equal(proxy.generation.inflight, 0)
  // Undici keeps at most maxConnections sockets to the origin; aborted ones are destroyed.
  const stats = server?.dispatcher.stats
  assert.ok((stats?.connected ?? 0) <= 64, `upstream sockets ${stats?.connected}`)
  assert.equal(stats?.running ?? 0, 0)
  assert.equal(stats?.pending ?? 0, 0)
  // The raw keep-alive client (bodyless requests) has the same bound, and aborted sockets are gone.
  assert.ok((server?.fast?.connections ?? 0) <= 64, `fast upstream sockets ${server?.fast?.connections}`)
  const growth = Math.min(h1 - h0, h2 - h1, h3 - h2)
  // A leak of 1 KiB per request would grow every phase by ~0.8 MiB.
  const mib = (n: number): string => (n / 2 ** 20).toFixed(2)
  assert.ok(growth < 0.75 * 2 ** 20, `heap grew ${mib(h1 - h0)}, ${mib(h2 - h1)} and ${mib(h3 - h2)} MiB`)
})
