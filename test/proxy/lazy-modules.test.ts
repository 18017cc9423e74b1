// The proxy loads its heavy optional dependencies only when the config uses them: selfsigned (and
// its X.509 stack, about 200 modules) for a TLS listener without certificates, ioredis for a Redis
// rate store. Every proxy process paid about 0.25 s of CPU at start-up for each before. A probe
// process lists the modules it loaded; the control configures each part and must see it load.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runTs } from '../_lib/node-args.js'

const probe = fileURLToPath(new URL('./_module-probe.ts', import.meta.url))
const upstreams = { pools: { app: { servers: [{ url: 'http://127.0.0.1:9' }] } }, routes: [{ match: { pathPrefix: '/' }, pool: 'app' }] }

function loadedWith(config: Record<string, unknown>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...runTs(probe), JSON.stringify({ ...upstreams, ...config })], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`module probe failed: ${err.message}\n${stderr}`))
      resolve((JSON.parse(stdout) as string[]).map((u) => u.replace(/\\/g, '/')))
    })
  })
}

const has = (modules: string[], pkg: string): boolean => modules.some((m) => m.includes(`/node_modules/${pkg}/`))

test('a plain HTTP proxy with a memory rate store loads neither selfsigned nor ioredis', async () => {
  const modules = await loadedWith({ listeners: [{ port: 0, address: '127.0.0.1' }], limits: { rate: [{ name: 'api', rate: 100, burst: 100, key: 'route' }], rateStore: { type: 'memory' } } })
  // The probe saw the proxy itself, else an empty list would pass.
  assert.ok(modules.some((m) => /\/src\/proxy\/proxy-server\.[jt]s$/.test(m)), 'probe did not see src/proxy/proxy-server')
  assert.ok(has(modules, 'undici'), 'probe did not see undici')
  assert.equal(has(modules, 'selfsigned'), false, 'selfsigned loaded')
  assert.equal(has(modules, 'ioredis'), false, 'ioredis loaded')
})

test('control: a TLS listener without certificates loads selfsigned; a Redis rate store loads ioredis', async () => {
  const modules = await loadedWith({
    listeners: [{ port: 0, address: '127.0.0.1', protocol: 'https' }],
    limits: { rate: [{ name: 'api', rate: 100, burst: 100, key: 'route' }], rateStore: { type: 'redis', url: 'redis://127.0.0.1:9', commandTimeoutMs: 50 } },
  })
  assert.ok(has(modules, 'selfsigned'), 'selfsigned not loaded for a certificate-less TLS listener')
  assert.ok(has(modules, 'ioredis'), 'ioredis not loaded for a Redis rate store')
})
