// Our broker with JetStream for bench/streams, in its own process so CPU and RSS can be measured:
// `node --import tsx bench/streams/server.ts STORE_DIR SYNC`. Prints `READY <port> <monitorPort>`.
import { startBroker } from '../../src/broker/index.js'

const [storeDir, sync] = process.argv.slice(2)
const broker = await startBroker({
  host: '127.0.0.1',
  port: 0,
  monitorPort: 0,
  jetstream: { storeDir: storeDir ?? 'store', sync: sync === 'interval' ? 'interval' : 'always' },
})
process.stdout.write(`READY ${broker.port} ${broker.monitor?.port ?? 0}\n`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void broker.close().finally(() => process.exit(0))
  })
}
