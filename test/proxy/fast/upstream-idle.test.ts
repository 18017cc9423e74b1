// The fast path's upstream client closes a keep-alive socket once it has been idle longer than
// keepAliveTimeoutMs (its coarse sweep, internal/timers.ts sweepEvery), never before, and reuses
// it while it is younger.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Dispatcher } from 'undici'
import { FastUpstream } from '../../../src/proxy/fast/upstream-client.js'
import { waitFor } from '../../_lib/wait.js'

function get(up: FastUpstream): Promise<void> {
  return new Promise((resolve, reject) => {
    const handler: Dispatcher.DispatchHandler = {
      onResponseEnd: () => resolve(),
      onResponseError: (_c, err) => reject(err),
    }
    assert.equal(up.dispatch({ method: 'GET', path: '/', headers: {} }, handler), true)
  })
}

test('fast upstream: an idle keep-alive socket is reused while young and closed after keepAliveTimeoutMs, not before', async (t) => {
  let sockets = 0
  const server = createServer((_req, res) => res.end('ok'))
  server.on('connection', () => sockets++)
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const keepAliveTimeoutMs = 400
  const up = new FastUpstream({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, hostHeader: 'origin', maxConnections: 2, connectTimeoutMs: 2000, keepAliveTimeoutMs })
  t.after(() => up.close())

  await get(up)
  await get(up)
  assert.deepEqual([up.connections, sockets], [1, 1], 'the second request reused the idle socket')
  const idleSince = Date.now()
  await waitFor('the idle socket to be closed', () => up.connections === 0, { timeoutMs: 10_000, intervalMs: 5 })
  const idleMs = Date.now() - idleSince
  // The sweep runs every keepAliveTimeoutMs / 4 (100 ms here): closed after the timeout, within
  // about a period of it (generous upper bound for a loaded machine).
  assert.ok(idleMs >= keepAliveTimeoutMs - 5, `closed after ${idleMs} ms, before keepAliveTimeoutMs ${keepAliveTimeoutMs}`)
  assert.ok(idleMs < keepAliveTimeoutMs + 2000, `closed only after ${idleMs} ms`)
  // A new request opens a new socket, and the sweep starts again for it.
  await get(up)
  assert.deepEqual([up.connections, sockets], [1, 2])
  await waitFor('the second idle socket to be closed', () => up.connections === 0, { timeoutMs: 10_000, intervalMs: 5 })
})
