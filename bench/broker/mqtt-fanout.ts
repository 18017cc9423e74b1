// bench/broker/mqtt-fanout: MQTT QoS 0 fan-out, 1 publisher -> N subscribers (N = 10, 50) x payload
// (128 B, 4 KiB), against our broker's MQTT front-end, mosquitto (loopback, temp config, stopped
// after) and Aedes, alternating in one run. Clients are minimal raw-socket MQTT 3.1.1 clients (no
// client library cost in the measurement): subscribers only count PUBLISH frames, reading into one
// reused buffer per socket (`onread`), the same for every server.
// Every server gets the same messages. Usage: node --import tsx bench/broker/mqtt-fanout.ts [--rounds R] [--quick] [--only "10 128"]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { ensureInstalled } from '../lib/install.js'
import { freePort, waitForPort } from '../lib/net.js'
import { startAedes, startOursMqtt, stopper, type Peer } from './peers.js'
import { pump, Tally } from './raw-pump.js'

const args = process.argv.slice(2)

async function main(): Promise<void> {
  const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 3) || 3
  const quick = args.includes('--quick')
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined

  async function startMosquitto(): Promise<Peer> {
    const bin = ensureInstalled('mosquitto', 'mosquitto')
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'))
    const conf = join(dir, 'mosquitto.conf')
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nlog_dest none\nmax_connections -1\n`)
    const child = spawn(bin, ['-c', conf], { stdio: 'ignore' })
    await waitForPort(port, { child, label: 'mosquitto' })
    const stop = stopper(child)
    return {
      pid: child.pid as number,
      port,
      stop: async () => {
        await stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }

  const warm = async (port: number): Promise<void> => {
    await fanOut(port, 4, 128, 5000, 1000)
  }
  const contender = (name: string, start: () => Promise<Peer>): Contender<{ port: number }> => ({
    name,
    async start() {
      const p = await start()
      await warm(p.port)
      return { pid: p.pid, stop: p.stop, ctx: { port: p.port } }
    },
  })
  const contenders = [contender('switchyard', startOursMqtt), contender('mosquitto', startMosquitto), contender('aedes', startAedes)]

  const workloads: Workload<{ port: number }>[] = []
  for (const size of [128, 4096]) {
    for (const subscribers of [10, 50]) {
      const target = 1_000_000 / (quick ? 4 : 1)
      workloads.push({
        name: `1->${subscribers} ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
        unit: 'deliveries/s',
        async run(ctx) {
          // The same messages for every server (Aedes used to get 8x fewer: rounds of 0.2-0.6 s,
          // short enough that scheduling on a shared machine decided more than the server).
          const messages = Math.round(target / subscribers)
          return fanOut(ctx.port, subscribers, size, messages, size <= 1024 ? 2000 : 500)
        },
      })
    }
  }
  const selected = only === undefined ? workloads : workloads.filter((w) => w.name.includes(only))
  await runBench({ name: 'broker-mqtt-fanout', rounds, contenders, workloads: selected })
  process.exit(0)
}

// ---- minimal MQTT 3.1.1 clients ---------------------------------------------------------------

const TOPIC = 'bench/fanout'
/** Each client's read buffer (net's default read size). */
const READ_BYTES = 64 * 1024

function packet(first: number, body: Buffer): Buffer {
  const len: number[] = []
  let n = body.length
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    len.push(b)
  } while (n > 0)
  return Buffer.concat([Buffer.from([first, ...len]), body])
}

function str(s: string): Buffer {
  const b = Buffer.from(s)
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b])
}

function connectBytes(id: string): Buffer {
  return packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 0]), str(id)]))
}

/** Opens a connection, sends CONNECT (and SUBSCRIBE), waits for CONNACK (and SUBACK); counts PUBLISH frames after. */
async function open(port: number, id: string, subscribe: boolean, onPublish: () => void): Promise<Socket> {
  let need = subscribe ? 2 : 1
  let ready: () => void = () => {}
  const readyP = new Promise<void>((r) => (ready = r))
  // Streaming frame walker: only the fixed header is looked at.
  let hdr = 0
  let first = 0
  let len = 0
  let mul = 1
  let skip = 0
  const walk = (end: number, chunk: Uint8Array): boolean => {
    let i = 0
    while (i < end) {
      if (skip > 0) {
        const n = Math.min(skip, end - i)
        skip -= n
        i += n
        continue
      }
      const b = chunk[i++] as number
      if (hdr === 0) {
        first = b
        hdr = 1
        len = 0
        mul = 1
        continue
      }
      len += (b & 127) * mul
      mul *= 128
      if (b & 128) continue
      hdr = 0
      skip = len
      const type = first >> 4
      if (type === 3) onPublish()
      else if ((type === 2 || type === 9) && --need === 0) ready()
    }
    return true
  }
  // Reads land in one reused buffer (net's `onread`), not a fresh Buffer and a stream event each.
  const sock = netConnect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: Buffer.allocUnsafe(READ_BYTES), callback: walk } })
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.once('connect', () => resolve())
  })
  sock.write(connectBytes(id))
  if (subscribe) sock.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(TOPIC), Buffer.from([0])])))
  await readyP
  return sock
}

async function fanOut(port: number, subscribers: number, size: number, messages: number, window: number): Promise<{ ops: number; seconds: number }> {
  const tally = new Tally(subscribers)
  const subs: Socket[] = []
  const tag = Math.random().toString(36).slice(2, 8)
  for (let i = 0; i < subscribers; i++) {
    subs.push(
      await open(port, `sub-${tag}-${i}`, true, () => {
        tally.hit(i)
      }),
    )
  }
  const pub = await open(port, `pub-${tag}`, false, () => {})
  const one = packet(0x30, Buffer.concat([str(TOPIC), Buffer.alloc(size, 0x61)]))
  return pump(pub, subs, one, size, messages, window, tally)
}

await main()
