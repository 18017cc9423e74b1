// bench/broker: 1 publisher -> N subscribers (N = 1, 10, 100), 128 B and 16 KiB payloads, the same
// workload against our broker, nats-server (same `nats` client), redis-server pub/sub (ioredis) and
// Aedes (mqtt client). Reports deliveries/s, p50/p99 latency, server CPU s per 1M deliveries, peak RSS.
// Usage: npm run bench -- broker [--rounds R] [--quick] [--wildcard | --deny]
import { runBench, newHistogram, type Contender, type Workload } from '../lib/harness.js'
import { openFanOut, type Protocol } from './clients.js'
import { startAedes, startNats, startOurs, startRedis, startRelay, type Peer } from './peers.js'

interface Ctx {
  protocol: Protocol
  port: number
}

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
    return { pid: p.pid, stop: p.stop, ctx: { protocol, port: p.port } }
  },
})

const contenders: Contender<Ctx>[] = [
  contender('switchyard', 'nats', startOurs),
  contender('nats-server', 'nats', startNats),
  contender('redis-server', 'redis', startRedis),
  contender('aedes', 'mqtt', startAedes),
  // Not a broker: the cost floor of moving the bytes at all (see relay-server.ts). Opt in with --peers.
  contender('tcp-relay-floor', 'raw', startRelay),
].filter((c, i) => i === 0 || (peers === undefined ? c.name !== 'tcp-relay-floor' : peers.includes(c.name)))

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function workload(subscribers: number, size: number): Workload<Ctx> {
  // Deliveries per round; Aedes is an order of magnitude slower, so it gets fewer.
  const target = ((size <= 1024 ? 400_000 : 40_000) * scale) / (quick ? 4 : 1)
  const batch = size <= 1024 ? 500 : 100
  return {
    name: `1->${subscribers} ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
    unit: 'deliveries/s',
    async run(ctx, name) {
      const messages = Math.max(batch, Math.round(target / subscribers / (name === 'aedes' ? 8 : 1)))
      const window = size <= 1024 ? 2000 : batch * 4
      const received = new Array<number>(subscribers).fill(0)
      const latency = newHistogram()
      let total = 0
      const onMsg = (i: number, data: Uint8Array): void => {
        received[i] = (received[i] as number) + 1
        total++
        // Sample latency on every 8th delivery to keep recording cost out of the measurement.
        if ((total & 7) === 0 && data.byteLength >= 8) {
          const sent = new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true)
          latency.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)))
        }
      }
      const fan = await openFanOut(ctx.protocol, ctx.port, subscribers, onMsg)
      const minReceived = (): number => {
        let m = Infinity
        for (const r of received) if (r < m) m = r
        return m
      }
      try {
        const start = performance.now()
        let sent = 0
        let stalledSince = 0
        while (sent < messages) {
          const n = Math.min(batch, messages - sent)
          for (let k = 0; k < n; k++) {
            const buf = Buffer.allocUnsafe(size)
            buf.writeDoubleLE(performance.now(), 0)
            fan.publish(buf)
          }
          sent += n
          await fan.flush()
          // Keep the slowest subscriber within a window so we measure sustained throughput, not buffering.
          while (sent - minReceived() > window) {
            await delay(1)
            if (stalledSince === 0) stalledSince = performance.now()
            if (performance.now() - stalledSince > 10_000) break
          }
          stalledSince = 0
        }
        const deadline = performance.now() + 15_000
        while (total < messages * subscribers && performance.now() < deadline) await delay(1)
        const seconds = (performance.now() - start) / 1000
        if (total < messages * subscribers) console.log(`  ${name}: only ${total} of ${messages * subscribers} deliveries arrived`)
        return { ops: total, seconds, latency }
      } finally {
        await fan.close()
        await delay(100)
      }
    },
  }
}

const sizes = [128, 16 * 1024]
const fanouts = [1, 10, 100]
const workloads: Workload<Ctx>[] = []
for (const size of sizes) for (const n of fanouts) workloads.push(workload(n, size))
const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))

await runBench({ name: 'broker', rounds, contenders, workloads: selected })
process.exit(0)
