// Issue #16 (RSS): a broker started without MQTT, RESP, JetStream, routes, leafnodes or WebSocket
// never loads their modules or `ws`; each is imported when configured. A child process records
// what it loaded (_module-probe.ts); the second test is the control that shows the probe sees them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runTs } from '../_lib/node-args.js'

const probe = fileURLToPath(new URL('./_module-probe.ts', import.meta.url))

/** Every module (file URL or path, `/` separated) the broker's process loaded with these options. */
function loadedWith(options: Record<string, unknown>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...runTs(probe), JSON.stringify(options)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`module probe failed: ${err.message}\n${stderr}`))
      // Compiled (npm test) the sources load as .js: named as their .ts here.
      resolve((JSON.parse(stdout) as string[]).map((u) => u.replace(/\\/g, '/').replace(/(\/src\/.*)\.js$/, '$1.ts')))
    })
  })
}

/** The optional parts: a source directory (with the few small files every broker needs) or a package. */
const OPTIONAL = [
  { name: 'MQTT', dir: '/src/broker/mqtt/', allowed: ['options.ts'] },
  { name: 'RESP', dir: '/src/broker/resp/', allowed: ['options.ts', 'errors.ts'] },
  { name: 'JetStream', dir: '/src/broker/streams/', allowed: ['options.ts', 'errors.ts'] },
  { name: 'routes and leafnodes', dir: '/src/broker/cluster/', allowed: ['options.ts', 'leaf-options.ts', 'routez.ts', 'leafz.ts'] },
  { name: 'WebSocket listener', dir: '/src/broker/ws-listener', allowed: [] },
  { name: 'ws', dir: '/node_modules/ws/', allowed: [] },
] as const

function optionalLoaded(modules: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>()
  for (const part of OPTIONAL) {
    const hits = modules.filter((m) => {
      const at = m.indexOf(part.dir)
      return at >= 0 && !(part.allowed as readonly string[]).includes(m.slice(at + part.dir.length))
    })
    if (hits.length > 0) found.set(part.name, hits)
  }
  return found
}

test('a broker with default options (monitor on) loads none of the optional parts', async () => {
  const modules = await loadedWith({})
  // The probe saw the broker itself, else an empty list would pass.
  assert.ok(modules.some((m) => m.endsWith('/src/broker/server.ts')), 'probe did not see src/broker/server.ts')
  assert.ok(modules.some((m) => m.endsWith('/src/broker/monitor.ts')), 'probe did not see the monitor')
  assert.deepEqual(Object.fromEntries(optionalLoaded(modules)), {})
})

test('control: each optional part is loaded once configured', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sy-lazy-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const modules = await loadedWith({
    monitorPort: false,
    mqtt: { port: 0 },
    resp: { port: 0 },
    websocket: { port: 0 },
    cluster: { name: 'lazy', host: '127.0.0.1', port: 0 },
    leafnodes: { host: '127.0.0.1', port: 0 },
    jetstream: { storeDir: dir },
  })
  assert.deepEqual([...optionalLoaded(modules).keys()].sort(), OPTIONAL.map((p) => p.name).sort())
})
