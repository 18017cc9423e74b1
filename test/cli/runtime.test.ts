// Everything that starts Node starts the binary that is running: local task processes, cluster
// workers' task processes and `switchyard proxy --workers N` children. CI runs the suite on Node 20
// and on the newest 24.x, so these tests prove the whole stack runs on the version that started it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../src/mapreduce/index.js'
import { startCluster, SECRET } from '../mapreduce/cluster/fixtures/cluster.js'
import { freePort } from '../_lib/net.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname
const self = `${realpathSync(process.execPath)} ${process.version}`

// A `node` on PATH that is not the running binary: anything that starts `node` by name instead of
// process.execPath would run it and fail, so these tests fail whatever version CI puts first on PATH.
function withDecoyNode(t: import('node:test').TestContext): void {
  const dir = mkdtempSync(join(tmpdir(), 'sy-decoy-'))
  writeFileSync(join(dir, 'node'), '#!/bin/sh\necho "decoy node started: $*" >&2\nexit 97\n', { mode: 0o755 })
  const saved = process.env.PATH
  process.env.PATH = `${dir}:${saved ?? ''}`
  t.after(() => {
    process.env.PATH = saved
    rmSync(dir, { recursive: true, force: true })
  })
}

test('local mode: task processes run the same node binary and version as the driver', async (t) => {
  withDecoyNode(t)
  const sc = new Context({ workers: 2, defaultPartitions: 4 })
  t.after(() => sc.stop())
  const seen = await sc.parallelize([1, 2, 3, 4, 5, 6, 7, 8], 4).map(() => `${process.execPath} ${process.version} ${process.pid}`).collect()
  const pids = new Set(seen.map((s) => s.split(' ')[2]))
  assert.ok(!pids.has(String(process.pid)), 'tasks ran in separate processes')
  for (const s of seen) assert.equal(`${realpathSync(s.split(' ')[0] as string)} ${s.split(' ')[1]}`, self)
})

test('cluster mode: a worker daemon and its task processes run the same node binary and version', async (t) => {
  withDecoyNode(t)
  const cluster = await startCluster(1)
  t.after(() => cluster.stop())
  const sc = new Context({ master: cluster.master, secret: SECRET, defaultPartitions: 2 })
  t.after(() => sc.stop())
  const seen = await sc.parallelize([1, 2, 3, 4], 2).map(() => `${process.execPath} ${process.version} ${process.pid}`).collect()
  const pids = new Set(seen.map((s) => s.split(' ')[2]))
  assert.ok(!pids.has(String(process.pid)) && !pids.has(String(cluster.workers[0]?.pid)), 'tasks ran in task processes')
  for (const s of seen) assert.equal(`${realpathSync(s.split(' ')[0] as string)} ${s.split(' ')[1]}`, self)
})

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(name))
    } catch {
      // exited meanwhile
    }
  }
  return out
}

test('switchyard proxy --workers 2: the cluster children run the same node binary', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  withDecoyNode(t)
  const dir = mkdtempSync(join(tmpdir(), 'sy-runtime-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const file = join(dir, 'proxy.yaml')
  const adminPort = await freePort()
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [http://127.0.0.1:9]\naccessLog: {enabled: false}\nadmin: {port: ${adminPort}}\n`)
  const child = spawn(process.execPath, [...CLI, 'proxy', '--config', file, '--workers', '2'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const deadline = Date.now() + 30_000
  let kids: number[] = []
  while (Date.now() < deadline) {
    kids = childrenOf(child.pid as number).filter((p) => {
      try {
        // tsx runs an esbuild service as a child too; the cluster workers re-run the CLI entry.
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('src/cli/bin.')
      } catch {
        return false
      }
    })
    if (kids.length >= 2 || child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(kids.length >= 2, `expected 2 worker processes, saw ${kids.length}: ${out}`)
  for (const k of kids) assert.equal(realpathSync(readlinkSync(`/proc/${k}/exe`)), realpathSync(process.execPath))
  child.kill('SIGTERM')
})
