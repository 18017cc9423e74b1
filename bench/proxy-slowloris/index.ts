// bench/proxy-slowloris: legitimate throughput (wrk, keep-alive) while 1,000 slowloris connections
// drip one header byte per second, against the same proxy without the attack. The attackers use
// 10 loopback source addresses (100 each, under the per-IP connection cap) and reconnect when the
// headers timeout cuts them, so 1,000 stay open. Target: >= 90% of the baseline.
// Usage: npm run bench -- proxy-slowloris [--rounds 3] [--duration 8] [--slow 1000]
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { ensureInstalled, startNginxOrigin, startSwitchyard, wrk, wrkScript } from '../proxy-cache/lib.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    slow: { type: 'string', default: '1000' },
  },
})
const ROUNDS = Number(values.rounds)
const DURATION_S = Number(values.duration)
const CONNECTIONS = Number(values.connections)
const SLOW = Number(values.slow)
ensureInstalled('nginx', 'nginx')
ensureInstalled('wrk', 'wrk')

const dir = mkdtempSync(join(tmpdir(), 'sy-bench-slowloris-'))
const origin = await startNginxOrigin(dir, `    location / { default_type text/plain; return 200 "ok\\n"; }`)
const script = wrkScript(dir)

interface Ctx {
  url: string
  open: () => number
}

/** Keeps `n` slowloris connections open against host:port until stopped. */
function slowloris(port: number, n: number): { stop: () => void; open: () => number; cut: () => number } {
  const sockets = new Set<Socket>()
  let stopped = false
  let cut = 0
  const open = (i: number): void => {
    if (stopped) return
    const s = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 10)}` })
    sockets.add(s)
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: bench.test\r\nX-Slow: '))
    s.on('error', () => {})
    s.on('close', () => {
      sockets.delete(s)
      cut++
      setTimeout(() => open(i), 100)
    })
  }
  for (let i = 0; i < n; i++) open(i)
  const drip = setInterval(() => {
    for (const s of sockets) if (s.writable && !s.connecting) s.write('a')
  }, 1000)
  return {
    open: () => sockets.size,
    cut: () => cut,
    stop: () => {
      stopped = true
      clearInterval(drip)
      for (const s of sockets) s.destroy()
    },
  }
}

const yaml = (port: number) => `listeners:
  - {port: ${port}, address: 127.0.0.1}
pools:
  origin: {servers: ['${origin.url}']}
limits: {headersTimeoutMs: 10000, maxRequestsPerConnection: 0}
accessLog: {enabled: false}
headers: {requestId: false}
`

const attacked: Contender<Ctx> = {
  name: `switchyard + ${SLOW} slowloris conns`,
  async start() {
    const s = await startSwitchyard(dir, 'attacked', yaml)
    // Same JIT warm-up for both contenders, before the attack starts.
    await wrk(`${s.url}/`, script, CONNECTIONS, 3)
    const port = Number(new URL(s.url).port)
    const attack = slowloris(port, SLOW)
    await new Promise((r) => setTimeout(r, 2000))
    console.log(`  slowloris connections open: ${attack.open()}`)
    return {
      pid: s.pid,
      ctx: { url: s.url, open: attack.open },
      stop: async () => {
        console.log(`  slowloris connections cut by the headers timeout during the run: ${attack.cut()}`)
        attack.stop()
        await s.stop()
      },
    }
  },
}

const baseline: Contender<Ctx> = {
  name: 'switchyard baseline',
  async start() {
    const s = await startSwitchyard(dir, 'baseline', yaml)
    await wrk(`${s.url}/`, script, CONNECTIONS, 3)
    return { pid: s.pid, ctx: { url: s.url, open: () => 0 }, stop: s.stop }
  },
}

const workloads: Workload<Ctx>[] = [
  {
    name: 'legit GET (keep-alive)',
    unit: 'req/s',
    run: async (ctx, name) => {
      if (name === attacked.name) console.log(`  slowloris connections open at round start: ${ctx.open()}`)
      return wrk(`${ctx.url}/`, script, CONNECTIONS, DURATION_S)
    },
  },
]

try {
  await runBench<Ctx>({ name: 'proxy-slowloris', rounds: ROUNDS, contenders: [attacked, baseline], workloads })
  console.log(`wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s; ratio = attacked / baseline throughput (target >= 0.90)`)
} finally {
  await origin.stop()
}
