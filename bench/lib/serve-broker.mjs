// Our broker in its own process for the benches, so CPU and RSS are measured per process, running
// the compiled JavaScript a user runs (see compiled.ts). Plain JavaScript so no loader is involved.
// `node bench/lib/serve-broker.mjs DIST MODE [ARGS...]`, MODE one of:
//   nats                          the NATS port (BENCH_DENY=1: clients log in as a user whose deny
//                                 rule overlaps the subscribers' wildcard, so every delivery is checked)
//   mqtt                          the MQTT port
//   resp                          the Redis (RESP) port
//   cluster-node PORT [ROUTE...]  one node of a bench cluster, routing to ROUTEs
//   streams STORE_DIR SYNC        JetStream in STORE_DIR with sync 'always' or 'interval'
// Prints `READY <port>` (streams: `READY <port> <monitorPort>`).
const [dist, mode, ...rest] = process.argv.slice(2)
const { startBroker } = await import(new URL(`file://${dist}/broker/index.js`).href)

const base = { host: '127.0.0.1', port: 0, monitorPort: false, maxConnections: 100_000 }
let broker
if (mode === 'nats') {
  const deny = process.env.BENCH_DENY === '1'
  const users = deny ? [{ user: 'bench', password: 'bench', permissions: { subscribe: { allow: ['>'], deny: ['bench.secret.>'] } } }] : undefined
  broker = await startBroker({ ...base, ...(users === undefined ? {} : { users }) })
  process.stdout.write(`READY ${broker.port}\n`)
} else if (mode === 'mqtt') {
  broker = await startBroker({ ...base, mqtt: { port: 0 } })
  process.stdout.write(`READY ${broker.mqtt?.port ?? 0}\n`)
} else if (mode === 'resp') {
  broker = await startBroker({ ...base, resp: { port: 0 } })
  process.stdout.write(`READY ${broker.resp?.port ?? 0}\n`)
} else if (mode === 'cluster-node') {
  const [clusterPort, ...routes] = rest
  broker = await startBroker({ ...base, cluster: { name: 'bench', host: '127.0.0.1', port: Number(clusterPort), routes } })
  process.stdout.write(`READY ${broker.port}\n`)
} else if (mode === 'streams') {
  const [storeDir, sync] = rest
  broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, jetstream: { storeDir: storeDir ?? 'store', sync: sync === 'interval' ? 'interval' : 'always' } })
  process.stdout.write(`READY ${broker.port} ${broker.monitor?.port ?? 0}\n`)
} else {
  process.stderr.write(`serve-broker: unknown mode ${mode}\n`)
  process.exit(2)
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    void broker.close().finally(() => process.exit(0))
  })
}
