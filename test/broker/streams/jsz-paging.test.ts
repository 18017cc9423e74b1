// /jsz pages its per-stream detail (issue #23, smaller item: it listed every stream and consumer in
// one answer): totals cover all streams, account_details the page [offset, offset + limit) by name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'nats'
import { startBroker } from '../../../src/broker/index.js'

test('/jsz?offset&limit pages the stream detail; totals cover every stream', async (t) => {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, jetstream: {} })
  t.after(() => broker.close())
  const nc = await connect({ port: broker.port, reconnect: false })
  t.after(() => nc.close())
  const jsm = await nc.jetstreamManager()
  for (const n of ['E', 'A', 'D', 'B', 'C']) await jsm.streams.add({ name: n, subjects: [`${n.toLowerCase()}.>`], storage: 'memory' as never })
  const get = async (q: string): Promise<{ streams: number; offset: number; limit: number; account_details: { stream_detail: { name: string }[] }[] }> =>
    (await (await fetch(`${broker.monitor?.url}/jsz${q}`)).json()) as never
  const all = await get('')
  assert.equal(all.streams, 5)
  assert.deepEqual(all.account_details[0]?.stream_detail.map((s) => s.name), ['A', 'B', 'C', 'D', 'E'])
  const page = await get('?offset=1&limit=2')
  assert.equal(page.streams, 5)
  assert.deepEqual([page.offset, page.limit], [1, 2])
  assert.deepEqual(page.account_details[0]?.stream_detail.map((s) => s.name), ['B', 'C'])
  assert.deepEqual((await get('?offset=9')).account_details[0]?.stream_detail, [])
})
