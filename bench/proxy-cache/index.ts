// bench/proxy-cache: the cache-hit path. wrk fetches one cacheable object through switchyard's
// RFC 9111 cache and through nginx proxy_cache; the origin (nginx) is hit once per contender, every
// measured request is a cache hit. Objects of 1 KiB and 100 KiB, one worker/process each. A bare
// node:http server answering the same bytes from memory shows the ceiling of any Node.js server.
// Usage: npm run bench -- proxy-cache [--rounds 3] [--duration 8] [--connections 50] [--node-args="<node flags for ours>"]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { runBench, type Contender, type Workload } from '../lib/harness.js'
import { ensureInstalled, freePort, nodeArgs, spawnServer, startNginx, startNginxOrigin, startSwitchyard, stopChild, wrk, wrkScript } from './lib.js'

const here = new URL('.', import.meta.url).pathname

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    'node-args': { type: 'string' },
  },
})
const ROUNDS = Number(values.rounds)
const DURATION_S = Number(values.duration)
const CONNECTIONS = Number(values.connections)
ensureInstalled('nginx', 'nginx')
ensureInstalled('wrk', 'wrk')

const dir = mkdtempSync(join(tmpdir(), 'sy-bench-proxy-cache-'))
writeFileSync(join(dir, 'obj-1k.bin'), Buffer.alloc(1024, 'a'))
writeFileSync(join(dir, 'obj-100k.bin'), Buffer.alloc(100 * 1024, 'b'))
const origin = await startNginxOrigin(
  dir,
  `    location /obj-1k { default_type application/octet-stream; alias ${dir}/obj-1k.bin; add_header Cache-Control "public, max-age=86400"; }
    location /obj-100k { default_type application/octet-stream; alias ${dir}/obj-100k.bin; add_header Cache-Control "public, max-age=86400"; }`,
)
const script = wrkScript(dir)

interface Ctx {
  url: string
}

async function warm(url: string): Promise<void> {
  for (const p of ['/obj-1k', '/obj-100k']) {
    for (let i = 0; i < 3; i++) {
      const r = await request(`${url}${p}`)
      await r.body.dump()
      if (i === 2 && !/HIT/.test(String(r.headers['x-cache']))) throw new Error(`${url}${p} is not a cache hit after warm-up (x-cache ${String(r.headers['x-cache'])})`)
    }
  }
  // The same short load for every contender (JIT warm-up for the Node.js ones).
  await wrk(`${url}/obj-1k`, script, CONNECTIONS, 2)
}

const ours: Contender<Ctx> = {
  name: 'switchyard cache',
  async start() {
    const s = await startSwitchyard(
      dir,
      'switchyard',
      (port) => `listeners:
  - {port: ${port}, address: 127.0.0.1}
pools:
  origin: {servers: ['${origin.url}']}
routes:
  - {pool: origin, cache: true}
cache: {maxMemoryBytes: 67108864}
limits: {maxRequestsPerConnection: 0}
accessLog: {enabled: false}
headers: {requestId: false}
`,
      nodeArgs(values['node-args']),
    )
    await warm(s.url)
    return { pid: s.pid, ctx: { url: s.url }, stop: s.stop }
  },
}

const nginx: Contender<Ctx> = {
  name: 'nginx proxy_cache',
  async start() {
    const cacheDir = join(dir, 'nginx-cache')
    mkdirSync(cacheDir, { recursive: true })
    const s = await startNginx(
      dir,
      'nginx',
      (port) => `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  proxy_cache_path ${cacheDir} levels=1:2 keys_zone=c:10m max_size=64m inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:${origin.port}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_lock on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
    )
    await warm(s.url)
    return { pid: s.pid, ctx: { url: s.url }, stop: s.stop }
  },
}

const bareNode: Contender<Ctx> = {
  name: 'bare node:http (ceiling)',
  async start() {
    const port = await freePort()
    const { child, pid } = await spawnServer(process.execPath, [join(here, 'peers', 'bare-node.mjs'), String(port)], [port])
    const url = `http://127.0.0.1:${port}`
    await warm(url)
    return { pid, ctx: { url }, stop: () => stopChild(child) }
  },
}

const workloads: Workload<Ctx>[] = [
  { name: 'cache hit 1 KiB', unit: 'req/s', run: (ctx) => wrk(`${ctx.url}/obj-1k`, script, CONNECTIONS, DURATION_S) },
  { name: 'cache hit 100 KiB', unit: 'req/s', run: (ctx) => wrk(`${ctx.url}/obj-100k`, script, CONNECTIONS, DURATION_S) },
]

try {
  await runBench<Ctx>({ name: 'proxy-cache', rounds: ROUNDS, contenders: [ours, nginx, bareNode], workloads })
  console.log(`wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s; nginx proxy_cache (disk cache, page cache warm) vs switchyard memory tier`)
} finally {
  await origin.stop()
}
