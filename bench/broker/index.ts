// bench/broker: 1 publisher -> N subscribers (N = 1, 10, 100), 128 B and 16 KiB payloads, the same
// workload against our broker, nats-server (same `nats` client), redis-server pub/sub (ioredis) and
// Aedes (mqtt client). Reports deliveries/s, p50/p99 latency, server CPU s per 1M deliveries, peak RSS.
// Usage: npm run bench -- broker [--rounds R] [--quick] [--wildcard | --deny]
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { openFanOut, type Protocol } from './clients.js'
import { fanOutWorkload, type FanOutCtx } from './fanout-workload.js'
import { startAedes, startNats, startOurs, startRedis, startRelay, type Peer } from './peers.js'

type Ctx = FanOutCtx

const args = process.argv.slice(2)
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3
const quick = args.includes('--quick')
/** `--only "1->10 128 B"` runs the workloads whose name contains the text; `--peers nats-server` limits peers. */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
const peers = args.includes('--peers') ? (args[args.indexOf('--peers') + 1] ?? '').split(',') : undefined
const scale = args.includes('--scale') ? Number(args[args.indexOf('--scale') + 1]) || 1 : 1
// `--wildcard`: subscribers use `bench.>`; `--deny`: also as a user whose subscribe deny rule overlaps
// it (the per-delivery deny check). Read by clients.ts and by our server process.
if (args.includes('--wildcard')) process.env['BENCH_WILDCARD'] = '1'
if (args.includes('--deny')) process.env['BENCH_DENY'] = '1'

/** An unmeasured burst so every server (and our JIT) is warm before round 1. */
async function warmUp(protocol: Protocol, port: number): Promise<void> {
  let got = 0
  const fan = await openFanOut(protocol, port, 4, () => got++)
  const total = protocol === 'mqtt' ? 2_000 : 20_000
  for (let i = 0; i < total; i++) {
    fan.publish(Buffer.alloc(128))
    if (i % 500 === 499) await fan.flush()
  }
  await fan.flush()
  const deadline = performance.now() + 10_000
  while (got < total * 4 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  await fan.close()
}

const contender = (name: string, protocol: Protocol, start: () => Promise<Peer>): Contender<Ctx> => ({
  name,
  async start() {
    const p = await start()
    await warmUp(protocol, p.port)
    return { pid: p.pid, stop: p.stop, ctx: { protocol, pubPort: p.port, subPorts: [p.port] } }
  },
})

const contenders: Contender<Ctx>[] = [
  contender('switchyard', 'nats', startOurs),
  contender('nats-server', 'nats', startNats),
  contender('redis-server', 'redis', startRedis),
  contender('aedes', 'mqtt', startAedes),
  // Not a broker: the cost floor of moving the bytes at all (see relay-server.mjs). Opt in with --peers.
  contender('tcp-relay-floor', 'raw', startRelay),
].filter((c, i) => i === 0 || (peers === undefined ? c.name !== 'tcp-relay-floor' : peers.includes(c.name)))

const sizes = [128, 16 * 1024]
const fanouts = [1, 10, 100]
const workloads: Workload<Ctx>[] = []
for (const size of sizes) for (const n of fanouts) workloads.push(fanOutWorkload(n, size, { scale, quick }))
const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))

await runBench({ name: 'broker', rounds, contenders, workloads: selected })
process.exit(0)
