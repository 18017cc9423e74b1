// Consumer creation is all or nothing (issue #23, item 5): when the durable consumer's file cannot
// be written, the reply is a 500 without any file path and the consumer does not exist, neither in
// memory (not listed, INFO 404, the name is free again) nor after a restart. The store is an
// in-memory StorageIO whose consumer-file writes fail on demand (a full or read-only disk).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { FaultStorageIO } from './_fault-io.js'

const sc = StringCodec()

class FailingConsumerWrites extends FaultStorageIO {
  failConsumers = false
  override rename(from: string, to: string): void {
    // What Node's fs says on a full disk: the path is in the message.
    if (this.failConsumers && to.includes('/consumers/')) throw new Error(`ENOSPC: no space left on device, rename '${from}' -> '${to}'`)
    super.rename(from, to)
  }
}

interface Reply {
  error?: { code: number; err_code: number; description: string }
  consumers?: string[]
}

test('a durable consumer that cannot be saved is not created, and its name stays free', async (t) => {
  const io = new FailingConsumerWrites()
  const start = (): Promise<Broker> => startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, jetstream: { storeDir: '/store', io } })
  let broker = await start()
  let nc: NatsConnection = await connect({ port: broker.port, reconnect: false })
  t.after(async () => {
    await nc.close()
    await broker.close()
  })
  const api = async (subject: string, body: unknown = {}): Promise<Reply> =>
    JSON.parse(sc.decode((await nc.request(`$JS.API.${subject}`, sc.encode(JSON.stringify(body)), { timeout: 5000 })).data)) as Reply
  const durable = { stream_name: 'F', config: { durable_name: 'D', ack_policy: 'explicit' } }

  assert.equal((await api('STREAM.CREATE.F', { name: 'F', subjects: ['f.>'], storage: 'file' })).error, undefined)
  io.failConsumers = true
  const refused = await api('CONSUMER.DURABLE.CREATE.F.D', durable)
  assert.deepEqual((await api('CONSUMER.NAMES.F')).consumers ?? [], [], 'refused, so not listed')
  assert.equal((await api('CONSUMER.INFO.F.D')).error?.code, 404)
  assert.ok(refused.error !== undefined && !refused.error.description.includes('/'), JSON.stringify(refused))
  assert.equal(refused.error.code, 500)
  assert.equal(refused.error.err_code, 10012)

  // The disk recovers: the same name with another config is a new consumer, not "already in use".
  io.failConsumers = false
  const created = await api('CONSUMER.DURABLE.CREATE.F.D', { ...durable, config: { ...durable.config, max_deliver: 3 } })
  assert.equal(created.error, undefined, JSON.stringify(created))

  await nc.close()
  await broker.close()
  broker = await start()
  nc = await connect({ port: broker.port, reconnect: false })
  assert.deepEqual((await api('CONSUMER.NAMES.F')).consumers, ['D'])
  assert.equal(((await api('CONSUMER.INFO.F.D')) as { config?: { max_deliver?: number } }).config?.max_deliver, 3)
})
