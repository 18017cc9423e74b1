// One node of the bench/broker/cluster.ts cluster in its own process (CPU and RSS per node):
// `node --import tsx bench/broker/cluster-node.ts <clusterPort> [route URL...]`. Prints `READY <port>`.
import { startBroker } from '../../src/broker/index.js'

const [clusterPort, ...routes] = process.argv.slice(2)
const broker = await startBroker({
  host: '127.0.0.1',
  port: 0,
  monitorPort: false,
  maxConnections: 100_000,
  cluster: { name: 'bench', host: '127.0.0.1', port: Number(clusterPort), routes },
})
process.stdout.write(`READY ${broker.port}\n`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void broker.close().finally(() => process.exit(0))
  })
}
