// bench/streams: JetStream async publish with acks and pull consume (128 B and 4 KiB) against our
// broker and nats-server -js, same nats client and workload. nats-server 2.9 has no per-message
// fsync option (it writes to the OS and syncs every 2 minutes), so the ratio table compares it with
// our `sync: interval`; a second table shows our `sync: always` (group commit) against it too.
// Usage: npm run bench -- streams [--rounds N] [--msgs N]
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AckPolicy, connect, type NatsConnection } from 'nats'
import { newHistogram, runBench, type Contender, type Sample, type Workload } from '../lib/harness.js'
import { serveBrokerArgs } from '../lib/compiled.js'

const args = process.argv.slice(2)
const arg = (name: string, d: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : d
}
const ROUNDS = arg('--rounds', 3)
const MSGS = arg('--msgs', 20_000)
const WINDOW = 256
const root = new URL('../..', import.meta.url).pathname

interface Ctx {
  nc: NatsConnection
  monitor: number
  fsyncs: { n: number; seconds: number }
}

function natsServerBin(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server'], { encoding: 'utf8' }).trim().split('\n')[0] as string
  } catch {
    process.stderr.write('nats-server missing: installing it with apt-get\n')
    execFileSync('apt-get', ['install', '-y', 'nats-server'], { stdio: 'inherit' })
    return '/usr/sbin/nats-server'
  }
}

function waitReady(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr'): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buf}`)), 20_000)
    child[stream]?.on('data', (d: Buffer) => {
      buf += d.toString()
      const m = pattern.exec(buf)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)))
  })
}

function ours(sync: 'always' | 'interval'): Contender<Ctx> {
  return {
    name: `switchyard (sync ${sync})`,
    async start() {
      const dir = mkdtempSync(join(tmpdir(), 'sy-bench-js-'))
      const child = spawn(process.execPath, serveBrokerArgs('streams', join(dir, 'store'), sync), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
      const m = await waitReady(child, /READY (\d+) (\d+)/, 'stdout')
      const nc = await connect({ port: Number(m[1]), noAsyncTraces: true })
      return {
        pid: child.pid as number,
        ctx: { nc, monitor: Number(m[2]), fsyncs: { n: 0, seconds: 0 } },
        async stop() {
          await nc.close()
          child.kill('SIGTERM')
          await new Promise((r) => child.once('exit', r))
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  }
}

const natsServer: Contender<Ctx> = {
  name: 'nats-server -js',
  async start() {
    const bin = natsServerBin()
    const dir = mkdtempSync(join(tmpdir(), 'sy-bench-nats-'))
    const conf = join(dir, 'nats.conf')
    writeFileSync(conf, `listen: 127.0.0.1:-1\njetstream { store_dir: ${JSON.stringify(join(dir, 'store'))} }\n`)
    const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    const m = await waitReady(child, /Listening for client connections on 127\.0\.0\.1:(\d+)/, 'stderr')
    const nc = await connect({ port: Number(m[1]), noAsyncTraces: true })
    return {
      pid: child.pid as number,
      ctx: { nc, monitor: 0, fsyncs: { n: 0, seconds: 0 } },
      async stop() {
        await nc.close()
        child.kill('SIGTERM')
        await new Promise((r) => child.once('exit', r))
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

let streamSeq = 0

async function fsyncCount(ctx: Ctx): Promise<number> {
  if (ctx.monitor === 0) return 0
  const r = await fetch(`http://127.0.0.1:${ctx.monitor}/jsz`)
  return ((await r.json()) as { fsyncs: number }).fsyncs
}

async function publishAll(ctx: Ctx, subject: string, size: number, n: number, latency?: ReturnType<typeof newHistogram>): Promise<number> {
  const js = ctx.nc.jetstream()
  const payload = new Uint8Array(size)
  const start = process.hrtime.bigint()
  await new Promise<void>((resolve, reject) => {
    let sent = 0
    let done = 0
    let inflight = 0
    const pump = (): void => {
      while (inflight < WINDOW && sent < n) {
        const t = process.hrtime.bigint()
        sent++
        inflight++
        js.publish(subject, payload).then(() => {
          latency?.recordValue(Math.max(1, Number((process.hrtime.bigint() - t) / 1000n)))
          inflight--
          if (++done === n) resolve()
          else pump()
        }, reject)
      }
    }
    pump()
  })
  return Number(process.hrtime.bigint() - start) / 1e9
}

async function newStream(ctx: Ctx): Promise<{ name: string; subject: string; drop: () => Promise<void> }> {
  const name = `B${++streamSeq}`
  const jsm = await ctx.nc.jetstreamManager()
  await jsm.streams.add({ name, subjects: [`bench.${name}`] })
  return { name, subject: `bench.${name}`, drop: async () => void (await jsm.streams.delete(name)) }
}

function pubWorkload(size: number): Workload<Ctx> {
  return {
    name: `publish+ack ${size === 128 ? '128 B' : '4 KiB'}`,
    unit: 'msgs/s',
    async run(ctx): Promise<Sample> {
      const s = await newStream(ctx)
      const latency = newHistogram()
      const f0 = await fsyncCount(ctx)
      const seconds = await publishAll(ctx, s.subject, size, MSGS, latency)
      const f1 = await fsyncCount(ctx)
      ctx.fsyncs.n += f1 - f0
      ctx.fsyncs.seconds += seconds
      await s.drop()
      return { ops: MSGS, seconds, latency }
    },
  }
}

function consumeWorkload(size: number): Workload<Ctx> {
  return {
    name: `pull consume+ack ${size === 128 ? '128 B' : '4 KiB'}`,
    unit: 'msgs/s',
    async run(ctx): Promise<Sample> {
      const s = await newStream(ctx)
      await publishAll(ctx, s.subject, size, MSGS)
      const jsm = await ctx.nc.jetstreamManager()
      await jsm.consumers.add(s.name, { durable_name: 'C', ack_policy: AckPolicy.Explicit })
      const c = await ctx.nc.jetstream().consumers.get(s.name, 'C')
      const start = process.hrtime.bigint()
      let got = 0
      const msgs = await c.consume({ max_messages: 1000 })
      for await (const m of msgs) {
        m.ack()
        if (++got === MSGS) break
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      await s.drop()
      return { ops: MSGS, seconds }
    },
  }
}

const workloads = [pubWorkload(128), consumeWorkload(128), pubWorkload(4096), consumeWorkload(4096)]
const fsyncLines: string[] = []
for (const sync of ['interval', 'always'] as const) {
  const mine = ours(sync)
  const wrapped: Contender<Ctx> = {
    name: mine.name,
    async start(w) {
      const s = await mine.start(w)
      return {
        ...s,
        async stop() {
          if (s.ctx.fsyncs.seconds > 0) fsyncLines.push(`| ${mine.name} | ${w} | ${(s.ctx.fsyncs.n / s.ctx.fsyncs.seconds).toFixed(0)} |`)
          await s.stop()
        },
      }
    },
  }
  await runBench<Ctx>({ name: `streams-${sync}`, rounds: ROUNDS, contenders: [wrapped, natsServer], workloads })
}
console.log(`\nfsyncs per second during the publish workloads (ours; nats-server 2.9 syncs every 2 min):\n\n| contender | workload | fsyncs/s |\n| --- | --- | --- |\n${fsyncLines.join('\n')}\n`)
console.log(`publish window ${WINDOW} in flight, ${MSGS} messages per run`)
