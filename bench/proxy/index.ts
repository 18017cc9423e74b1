// bench/proxy: wrk through switchyard proxy, nginx, HAProxy, http-proxy and @fastify/http-proxy to
// one nginx `return 200` origin; one worker/process each, keep-alive; small body, 100 KiB body, TLS.
// Then `--workers 2` scaling. Usage: npm run bench -- proxy [--rounds 3] [--duration 5] [--connections 64]
// [--only <workload name prefix: small, 100, tls>,...] [--contenders <name part>,...; "relay-floor" adds the Node byte-relay floor, "http-floor" the least-HTTP-work floor] [--skip-scaling]
// [--node-args="<node flags for ours only>"] (with "=": the value starts with a dash) [--bare]
// Edge features are on by default on both sides (issue #20: what a real edge runs): one per-IP
// rate rule that never refuses, an access log line per request to a file, and for ours the
// metrics (always counted; the admin port serves them). `--bare` turns the rate rule and the logs
// off for both, as the runs before #20 did.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generate } from 'selfsigned'
import { newHistogram, runBench, type Contender, type Sample, type Workload } from '../lib/harness.js'
import { ensureInstalled } from '../lib/install.js'
import { nodeArgs, oursCommand, spawnServer as spawnWithin, startNginxOrigin, stopChild } from '../proxy-cache/lib.js'
import { freePort } from '../lib/net.js'

const here = new URL('.', import.meta.url).pathname
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    contenders: { type: 'string' },
    'skip-scaling': { type: 'boolean' },
    'node-args': { type: 'string' },
    bare: { type: 'boolean' },
  },
})
const EDGE = values.bare !== true
const ROUNDS = Number(values.rounds)
const DURATION_S = Number(values.duration)
const CONNECTIONS = Number(values.connections)

ensureInstalled('nginx', 'nginx')
ensureInstalled('haproxy', 'haproxy')
ensureInstalled('wrk', 'wrk')
if (spawnSync('test', ['-d', join(here, 'node_modules/@fastify/http-proxy')]).status !== 0) {
  console.log('installing bench/proxy peers (fastify, @fastify/http-proxy) into bench/proxy/node_modules')
  spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' })
}

const OURS_CMD = [...nodeArgs(values['node-args']), ...oursCommand()]

const dir = mkdtempSync(join(tmpdir(), 'sy-bench-proxy-'))
// nginx workers run as another user: they must be able to read the 100 KiB file.
chmodSync(dir, 0o755)
const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', algorithm: 'sha256' } as Parameters<typeof generate>[1])
const CERT = join(dir, 'cert.pem')
const KEY = join(dir, 'key.pem')
const COMBINED = join(dir, 'combined.pem')
writeFileSync(CERT, pems.cert)
writeFileSync(KEY, pems.private)
writeFileSync(COMBINED, `${pems.cert.trim()}\n${pems.private.trim()}\n`)
writeFileSync(join(dir, 'big.bin'), Buffer.alloc(100 * 1024, 'x'))

// ---- origin: nginx return 200 ---------------------------------------------------------------
const origin = await startNginxOrigin(
  dir,
  `    location = /small { default_type text/plain; return 200 "ok\\n"; }
    location = /big { default_type application/octet-stream; alias ${dir}/big.bin; }`,
  90_000,
)
const ORIGIN_PORT = origin.port
const ORIGIN = origin.url

interface Ctx {
  http: string
  https: string
}

function pathFor(workload: string): string {
  return workload.includes('100k') ? '/big' : '/small'
}

/** The bench's servers may take long to start on a loaded machine: 90 s per port. */
const spawnServer = (cmd: string, args: string[], ports: number[], opts: { cwd?: string; workerPid?: boolean } = {}) => spawnWithin(cmd, args, ports, { ...opts, timeoutMs: 90_000 })

const fileSafe = (name: string): string => name.replace(/[^A-Za-z0-9_-]+/g, '_')

function oursContender(name: string, workers: number): Contender<Ctx> {
  return {
    name,
    async start() {
      const [p, ps] = [await freePort(), await freePort()]
      const cfg = join(dir, `${fileSafe(name)}.yaml`)
      writeFileSync(
        cfg,
        `listeners:
  - {port: ${p}, address: 127.0.0.1}
  - {port: ${ps}, address: 127.0.0.1, protocol: https, tls: {certs: [{cert: ${CERT}, key: ${KEY}}]}}
pools:
  origin:
    servers: [{url: ${ORIGIN}, maxConnections: 256}]
${EDGE ? `accessLog: {enabled: true, path: ${join(dir, `${fileSafe(name)}-access.log`)}}
limits: {rate: [{rate: 100000000, key: ip}]}
admin: {port: ${await freePort()}}` : 'accessLog: {enabled: false}'}
headers: {requestId: false}
`,
      )
      // workerPid: the CLI re-runs itself with --max-semi-space-size (src/cli/semi-space.ts); measure that process.
      const { child, pid } = await spawnServer(process.execPath, [...OURS_CMD, 'proxy', '--config', cfg, '--no-watch', '--log-level', 'warn', '--workers', String(workers)], [p, ps], { workerPid: true })
      return { ...(workers === 1 ? { pid } : {}), ctx: { http: `http://127.0.0.1:${p}`, https: `https://127.0.0.1:${ps}` }, stop: () => stopChild(child) }
    },
  }
}

function nginxContender(name: string, workers: number): Contender<Ctx> {
  return {
    name,
    async start() {
      const [p, ps] = [await freePort(), await freePort()]
      const conf = join(dir, `${fileSafe(name)}.conf`)
      writeFileSync(
        conf,
        `worker_processes ${workers};
pid ${dir}/${fileSafe(name)}.pid;
error_log ${dir}/${fileSafe(name)}-error.log warn;
events { worker_connections 4096; }
http {
  ${EDGE ? `access_log ${dir}/${fileSafe(name)}-access.log;
  limit_req_zone $binary_remote_addr zone=perip:10m rate=100000000r/s;
  limit_req zone=perip burst=1000000 nodelay;` : 'access_log off;'}
  keepalive_requests 1000000;
  upstream origin { server 127.0.0.1:${ORIGIN_PORT}; keepalive 256; }
  server {
    listen 127.0.0.1:${p};
    listen 127.0.0.1:${ps} ssl;
    ssl_certificate ${CERT};
    ssl_certificate_key ${KEY};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
      )
      const { child, pid } = await spawnServer('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], [p, ps], { workerPid: true })
      return { ...(workers === 1 ? { pid } : {}), ctx: { http: `http://127.0.0.1:${p}`, https: `https://127.0.0.1:${ps}` }, stop: () => stopChild(child) }
    },
  }
}

const haproxy: Contender<Ctx> = {
  name: 'haproxy',
  async start() {
    const [p, ps] = [await freePort(), await freePort()]
    const conf = join(dir, 'haproxy.cfg')
    writeFileSync(
      conf,
      `global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${p}
  bind 127.0.0.1:${ps} ssl crt ${COMBINED}
  default_backend be
backend be
  server o1 127.0.0.1:${ORIGIN_PORT}
`,
    )
    const { child, pid } = await spawnServer('haproxy', ['-f', conf, '-db'], [p, ps])
    return { pid, ctx: { http: `http://127.0.0.1:${p}`, https: `https://127.0.0.1:${ps}` }, stop: () => stopChild(child) }
  },
}

function nodePeer(name: string, script: string): Contender<Ctx> {
  return {
    name,
    async start(workload) {
      const p = await freePort()
      const tls = workload.startsWith('tls')
      const { child, pid } = await spawnServer(process.execPath, [join(here, 'peers', script), String(p), ORIGIN, ...(tls ? [CERT, KEY] : [])], [p], { cwd: here })
      const url = `${tls ? 'https' : 'http'}://127.0.0.1:${p}`
      return { pid, ctx: { http: url, https: url }, stop: () => stopChild(child) }
    },
  }
}

/** Runs a short untimed wrk against the workload's URL first, so JIT warm-up is not measured. */
function warmed(c: Contender<Ctx>): Contender<Ctx> {
  return {
    name: c.name,
    async start(workload) {
      const s = await c.start(workload)
      const url = workload.startsWith('tls') ? `${s.ctx.https}/small` : `${s.ctx.http}${pathFor(workload)}`
      spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, '-d2s', url], { stdio: 'ignore' })
      return s
    },
  }
}

const LUA = join(dir, 'pcts.lua')
writeFileSync(
  LUA,
  `done = function(summary, latency, requests)
  io.write("SYPCT")
  for i = 1, 200 do io.write(" " .. latency:percentile(i / 2)) end
  io.write("\\n")
  io.write("SYSUM " .. summary.requests .. " " .. summary.duration .. " " .. (summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout) .. "\\n")
end
`,
)

function wrk(url: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '-s', LUA, url], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('exit', () => {
      const sum = /SYSUM (\d+) (\d+) (\d+)/.exec(out)
      const pct = /SYPCT ([\d. ]+)/.exec(out)
      if (sum === null || pct === null) return reject(new Error(`wrk output not understood:\n${out}`))
      const requests = Number(sum[1])
      const errors = Number(sum[3])
      // wrk reports a latency distribution, not raw samples: 200 evenly spaced percentiles (0.5%
      // steps) go into the histogram, so p50/p99 read back from it equal wrk's own.
      const h = newHistogram()
      for (const v of (pct[1] as string).trim().split(' ')) h.recordValue(Math.max(1, Math.round(Number(v))))
      if (errors > requests * 0.01) console.log(`  warning: ${errors} wrk errors of ${requests} requests at ${url}`)
      resolve({ ops: requests - errors, seconds: Number(sum[2]) / 1e6, latency: h })
    })
  })
}

const workloads: Workload<Ctx>[] = [
  { name: 'small body (keep-alive)', unit: 'req/s', run: (ctx) => wrk(`${ctx.http}${pathFor('small')}`) },
  { name: '100 KiB body (keep-alive)', unit: 'req/s', run: (ctx) => wrk(`${ctx.http}${pathFor('100k')}`) },
  { name: 'tls small body (keep-alive)', unit: 'req/s', run: (ctx) => wrk(`${ctx.https}${pathFor('small')}`) },
]
const named = workloads
const only = values.only?.split(',')
const selected = only === undefined ? named : named.filter((w) => only.some((o) => w.name === o || w.name.startsWith(`${o} `)))
// Quick A/B runs: only the contenders whose name contains one of the parts (ours always first).
const pick = values.contenders?.split(',')
// The floors (peers/relay-floor.mjs: bytes relayed unparsed; peers/http-floor.mjs: the least HTTP
// work, message ends only) run only when asked for by name.
const relayFloor = [
  ...(pick?.includes('relay-floor') === true ? [nodePeer('node relay-floor', 'relay-floor.mjs')] : []),
  ...(pick?.includes('http-floor') === true ? [nodePeer('node http-floor', 'http-floor.mjs')] : []),
]
const chosen = <T extends { name: string }>(cs: T[]): T[] => (pick === undefined ? cs : cs.filter((c, i) => i === 0 || pick.some((p) => c.name.includes(p))))

try {
  await runBench<Ctx>({
    name: 'proxy',
    rounds: ROUNDS,
    contenders: chosen([oursContender('switchyard', 1), nginxContender('nginx', 1), haproxy, nodePeer('http-proxy', 'http-proxy.mjs'), nodePeer('@fastify/http-proxy', 'fastify-proxy.mjs'), ...relayFloor]).map(warmed),
    workloads: selected,
  })
  if (values['skip-scaling'] !== true) {
    await runBench<Ctx>({
      name: 'proxy-workers',
      rounds: ROUNDS,
      contenders: [oursContender('switchyard --workers 2', 2), oursContender('switchyard --workers 1', 1), nginxContender('nginx 2 workers', 2)].map(warmed),
      workloads: [named[0] as Workload<Ctx>],
      // Separate name so its JSON and table do not overwrite the main run's.
    })
  }
  console.log(EDGE ? 'edge features on: one per-IP rate rule (never refuses) and an access log file for switchyard and nginx, metrics for switchyard; haproxy/http-proxy/fastify without' : '--bare: no rate rule, no access log')
} finally {
  await origin.stop()
}
