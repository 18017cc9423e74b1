// bench/broker/resp-fanout: Redis pub/sub fan-out, 1 publisher -> N subscribers (N = 1, 10, 100) x
// payload (128 B, 4 KiB), against our broker's RESP front-end and redis-server (Debian, loopback,
// `--save '' --appendonly no`, stopped after), alternating in one run. Clients are minimal
// raw-socket RESP2 clients (no client library cost in the measurement): subscribers only count
// top-level frames, reading into one reused buffer per socket (`onread`), the same for every server;
// the publisher pipelines PUBLISH commands and discards the counts.
// Usage: node --import tsx bench/broker/resp-fanout.ts [--rounds R] [--quick] [--only "10 128"]
import { connect as netConnect, type Socket } from 'node:net'
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { startOursResp, startRedis, type Peer } from './peers.js'
import { pump, Tally } from './raw-pump.js'

const args = process.argv.slice(2)
const CHANNEL = 'bench.fanout'

async function main(): Promise<void> {
  const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3
  const quick = args.includes('--quick')
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined

  const contender = (name: string, start: () => Promise<Peer>): Contender<{ port: number }> => ({
    name,
    async start() {
      const p = await start()
      // Unmeasured warm-up (our JIT; both servers' buffers).
      await fanOut(p.port, 4, 128, 5000, 1000)
      return { pid: p.pid, stop: p.stop, ctx: { port: p.port } }
    },
  })
  const contenders = [contender('switchyard', startOursResp), contender('redis-server', startRedis)]

  const workloads: Workload<{ port: number }>[] = []
  for (const size of [128, 4096]) {
    for (const subscribers of [1, 10, 100]) {
      const target = 1_000_000 / (quick ? 4 : 1)
      workloads.push({
        name: `1->${subscribers} ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
        unit: 'deliveries/s',
        async run(ctx) {
          return fanOut(ctx.port, subscribers, size, Math.round(target / subscribers), size <= 1024 ? 2000 : 500)
        },
      })
    }
  }
  const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))
  await runBench({ name: 'broker-resp-fanout', rounds, contenders, workloads: selected })
  process.exit(0)
}

// ---- minimal RESP2 clients ----------------------------------------------------------------------

function command(...parts: (string | Buffer)[]): Buffer {
  const out: Buffer[] = [Buffer.from(`*${parts.length}\r\n`)]
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p
    out.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(out)
}

/** Counts complete top-level RESP2 frames (flat arrays of bulks/integers, simple strings, integers, bulks). */
function frameCounter(onFrame: () => void): (end: number, chunk: Uint8Array) => boolean {
  let skip = 0
  let inLine = false
  let type = 0
  let num = 0
  let neg = false
  /** Elements left in the current top-level array; 0 at top level. */
  let pending = 0
  const element = (): void => {
    if (pending === 0) onFrame()
    else if (--pending === 0) onFrame()
  }
  return (end, chunk) => {
    let i = 0
    while (i < end) {
      if (skip > 0) {
        const n = Math.min(skip, end - i)
        skip -= n
        i += n
        if (skip === 0) element()
        continue
      }
      const b = chunk[i++] as number
      if (!inLine) {
        type = b
        inLine = true
        num = 0
        neg = false
        continue
      }
      if (b !== 10) {
        if (b === 45) neg = true
        else if (b >= 48 && b <= 57) num = num * 10 + (b - 48)
        continue
      }
      inLine = false
      const v = neg ? -num : num
      if (type === 42 /* * */ && pending === 0) {
        if (v <= 0) onFrame()
        else pending = v
      } else if (type === 36 /* $ */ && v >= 0) skip = v + 2
      else element()
    }
    return true
  }
}

/** Each client's read buffer (net's default read size). */
const READ_BYTES = 64 * 1024

async function open(port: number, onFrame: () => void): Promise<Socket> {
  // Reads land in one reused buffer (net's `onread`), not a fresh Buffer and a stream event each.
  const sock = netConnect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: Buffer.allocUnsafe(READ_BYTES), callback: frameCounter(onFrame) } })
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.once('connect', () => resolve())
  })
  return sock
}

async function fanOut(port: number, subscribers: number, size: number, messages: number, window: number): Promise<{ ops: number; seconds: number }> {
  const tally = new Tally(subscribers)
  const subs: Socket[] = []
  for (let i = 0; i < subscribers; i++) {
    let confirmed = false
    let ready: () => void = () => {}
    const readyP = new Promise<void>((r) => (ready = r))
    const s = await open(port, () => {
      if (!confirmed) {
        confirmed = true
        ready()
        return
      }
      tally.hit(i)
    })
    s.write(command('SUBSCRIBE', CHANNEL))
    await readyP
    subs.push(s)
  }
  const pub = await open(port, () => {})
  const one = command('PUBLISH', CHANNEL, Buffer.alloc(size, 0x61))
  return pump(pub, subs, one, size, messages, window, tally)
}

await main()
