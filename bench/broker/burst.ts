// bench/broker/burst: issue #16's burst matrix. One publisher sends a burst as fast as it can
// (flush every 1,000 messages, no receive window), N subscribers count what arrives; payload
// {128 B, 4 KiB, 16 KiB, 64 KiB} x subscribers {1, 10, 100}, ours and nats-server alternately in
// the same run, a fresh server per workload (so peak RSS is that workload's). Reports
// delivered/expected, deliveries/s and the ratio, server CPU per delivery and peak RSS.
// Usage: node --import tsx bench/broker/burst.ts [--scale S] [--rounds R] [--only "16 KiB"]
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { openFanOut } from './clients.js'
import { startNats, startOurs, type Peer } from './peers.js'

interface Ctx {
  port: number
}

const args = process.argv.slice(2)
const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const rounds = Number(arg('--rounds') ?? 1) || 1
/** 1 = the issue's size: up to 3.2 GB of deliveries and 200,000 messages per workload. */
const scale = Number(arg('--scale') ?? 1) || 1
const only = arg('--only')
const FLUSH_EVERY = 1_000
/** A burst ends when nothing has arrived for this long (a server that cut its subscribers). */
const IDLE_MS = 5_000

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** An unmeasured small burst so both servers (and our JIT) are warm before the measured one. */
async function warmUp(port: number): Promise<void> {
  let got = 0
  const fan = await openFanOut('nats', port, 4, () => got++)
  for (let i = 0; i < 20_000; i++) {
    fan.publish(Buffer.alloc(i % 10 === 0 ? 16 * 1024 : 128))
    if (i % 1_000 === 999) await fan.flush()
  }
  await fan.flush()
  const end = performance.now() + 10_000
  while (got < 80_000 && performance.now() < end) await delay(5)
  await fan.close()
}

const contender = (name: string, start: () => Promise<Peer>): Contender<Ctx> => ({
  name,
  async start() {
    const p = await start()
    await warmUp(p.port)
    return { pid: p.pid, stop: p.stop, ctx: { port: p.port } }
  },
})
const contenders = [contender('switchyard', startOurs), contender('nats-server', startNats)]

/** delivered/expected per workload, contender and round, for the second table. */
const delivery = new Map<string, { delivered: number; expected: number }[]>()

function messagesFor(size: number, subscribers: number): number {
  const bytes = 3.2e9 * scale
  return Math.max(100, Math.min(Math.round(200_000 * scale), Math.floor(bytes / (size * subscribers))))
}

function label(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`
}

function workload(subscribers: number, size: number): Workload<Ctx> {
  const messages = messagesFor(size, subscribers)
  const name = `burst 1->${subscribers} ${label(size)} x ${messages}`
  return {
    name,
    unit: 'deliveries/s',
    async run(ctx, contenderName) {
      let total = 0
      let lastAt = performance.now()
      const fan = await openFanOut('nats', ctx.port, subscribers, () => {
        total++
        lastAt = performance.now()
      })
      const expected = messages * subscribers
      try {
        const payload = Buffer.alloc(size)
        const start = performance.now()
        for (let i = 0; i < messages; i++) {
          fan.publish(payload)
          if (i % FLUSH_EVERY === FLUSH_EVERY - 1) await fan.flush()
        }
        await fan.flush()
        while (total < expected && performance.now() - lastAt < IDLE_MS) await delay(5)
        const seconds = (lastAt - start) / 1000
        const key = `${name}|${contenderName}`
        delivery.set(key, [...(delivery.get(key) ?? []), { delivered: total, expected }])
        if (total < expected) console.log(`  ${contenderName}: ${total} of ${expected} deliveries arrived`)
        return { ops: total, seconds }
      } finally {
        await fan.close()
        await delay(200)
      }
    },
  }
}

const sizes = [128, 4 * 1024, 16 * 1024, 64 * 1024]
const fanouts = [1, 10, 100]
const workloads: Workload<Ctx>[] = []
for (const size of sizes) for (const n of fanouts) workloads.push(workload(n, size))
const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))

const { summary } = await runBench({ name: 'broker-burst', rounds, contenders, workloads: selected })

const rows = selected.map((w) => {
  const cell = (c: string): string => {
    const d = delivery.get(`${w.name}|${c}`) ?? []
    const worst = d.reduce((m, x) => Math.min(m, x.delivered / x.expected), 1)
    return d.length === 0 ? '-' : `${(worst * 100).toFixed(1)}%`
  }
  const s = (c: string): (typeof summary)[number] | undefined => summary.find((x) => x.workload === w.name && x.contender === c)
  const ours = s('switchyard')
  const peer = s('nats-server')
  const rss = ours?.peakRssMb != null && peer?.peakRssMb != null ? `${(ours.peakRssMb / peer.peakRssMb).toFixed(2)}x` : '-'
  const cpu = ours?.cpuSecPerMillionOps != null && peer?.cpuSecPerMillionOps != null ? `${ours.cpuSecPerMillionOps.toFixed(2)} / ${peer.cpuSecPerMillionOps.toFixed(2)}` : '-'
  return `| ${w.name} | ${cell('switchyard')} | ${cell('nats-server')} | ${peer?.ratio == null ? '-' : `${peer.ratio.toFixed(2)}x`} | ${cpu} | ${rss} |`
})
console.log(
  [
    '',
    '| workload | delivered (ours) | delivered (nats-server) | deliveries/s ours / nats-server | CPU µs per delivery ours / nats-server | peak RSS ours / nats-server |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '(delivered: worst round; CPU: server CPU seconds per 1M deliveries = µs per delivery)',
  ].join('\n'),
)
process.exit(0)
