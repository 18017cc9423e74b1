// Our broker in its own process for bench/broker, so CPU and RSS can be measured per process:
// `node --import tsx bench/broker/server.ts`. Prints `READY <port>`.
import { startBroker } from '../../src/broker/index.js'

// BENCH_DENY=1 (set by `--deny`): clients log in as a user whose subscribe deny rule overlaps the
// subscribers' wildcard, so every delivery goes through the per-subject deny check.
const deny = process.env['BENCH_DENY'] === '1'
const users = deny ? [{ user: 'bench', password: 'bench', permissions: { subscribe: { allow: ['>'], deny: ['bench.secret.>'] } } }] : undefined
const broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, maxConnections: 100_000, ...(users === undefined ? {} : { users }) })
process.stdout.write(`READY ${broker.port}\n`)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void broker.close().finally(() => process.exit(0))
  })
}
