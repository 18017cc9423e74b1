// Wiring of JetStream into the broker and the CLI: INFO advertises it, /jsz and /metrics/jetstream
// answer, and `switchyard broker` flags and YAML keys map to startBroker({ jetstream }).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'nats'
import { startBroker } from '../../../src/broker/index.js'
import { brokerOptionsFromArgs } from '../../../src/cli/commands/broker.js'

test('startBroker({ jetstream }) advertises JetStream and serves /jsz and /metrics/jetstream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-js-wiring-'))
  const broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, monitorHost: '127.0.0.1', jetstream: { storeDir: dir } })
  t.after(async () => {
    await broker.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const nc = await connect({ port: broker.port })
  t.after(() => nc.close())
  assert.equal((nc.info as unknown as { jetstream?: boolean }).jetstream, true)
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: 'W', subjects: ['w.>'] })
  await nc.jetstream().publish('w.1', new Uint8Array(10))
  const jsz = (await (await fetch(`${broker.monitor?.url}/jsz`)).json()) as { streams: number; messages: number; account_details: { stream_detail: { name: string }[] }[] }
  assert.equal(jsz.streams, 1)
  assert.equal(jsz.messages, 1)
  assert.equal(jsz.account_details[0]?.stream_detail[0]?.name, 'W')
  const prom = await (await fetch(`${broker.monitor?.url}/metrics/jetstream`)).text()
  assert.match(prom, /switchyard_jetstream_stream_messages\{stream="W"\} 1/)
})

test('CLI flags and YAML keys map to jetstream options', () => {
  assert.equal(brokerOptionsFromArgs(['-p', '0']).options.jetstream, undefined)
  assert.deepEqual(brokerOptionsFromArgs(['--jetstream']).options.jetstream, {})
  const o = brokerOptionsFromArgs(['--store-dir', '/tmp/x', '--sync', 'interval', '--sync-interval', '200ms']).options.jetstream
  assert.deepEqual(o, { storeDir: '/tmp/x', sync: 'interval', syncIntervalMs: 200 })
  assert.throws(() => brokerOptionsFromArgs(['--sync', 'sometimes']), (e: { code?: string }) => e.code === 'ERR_CLI_USAGE')
  const dir = mkdtempSync(join(tmpdir(), 'sy-js-cfg-'))
  try {
    const file = join(dir, 'broker.yaml')
    writeFileSync(file, 'port: 4333\njetstream:\n  store_dir: data\n  sync: always\n  sync_interval: 2s\n')
    assert.deepEqual(brokerOptionsFromArgs(['-c', file]).options.jetstream, { storeDir: join(dir, 'data'), sync: 'always', syncIntervalMs: 2000 })
    writeFileSync(file, 'jetstream:\n  store_dri: data\n')
    assert.throws(() => brokerOptionsFromArgs(['-c', file]), /store_dri/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
