// Workers in separate Linux network namespaces (ip netns + veth to a bridge in a "switch"
// namespace, private 10.213.0.0/24 addresses that exist only inside the namespaces): the
// coordinator, driver and each worker have their own network stack, so every byte of control
// traffic and shuffle goes over a veth link. Results must equal local mode. Skipped, with the
// reason, where the kernel or the user may not create namespaces.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../../src/mapreduce/index.js'
import { root, SECRET } from './fixtures/cluster.js'
import { runTs } from '../../_lib/node-args.js'

const tag = `sy${process.pid % 100000}`
const SW = `${tag}sw`
const names = ['c', 'w1', 'w2', 'w3']

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function setup(): string | null {
  try {
    ip('netns', 'add', SW)
  } catch (err) {
    return `cannot create network namespaces here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}); run as root on Linux with iproute2`
  }
  ip('netns', 'exec', SW, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
  ip('netns', 'exec', SW, 'ip', 'link', 'set', 'br0', 'up')
  names.forEach((n, i) => {
    const ns = `${tag}${n}`
    const inside = `v${tag}${n}`.slice(0, 15)
    const port = `p${tag}${n}`.slice(0, 15)
    ip('netns', 'add', ns)
    ip('link', 'add', inside, 'type', 'veth', 'peer', 'name', port)
    ip('link', 'set', inside, 'netns', ns)
    ip('link', 'set', port, 'netns', SW)
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `10.213.0.${i + 1}/24`, 'dev', inside)
    ip('netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up')
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
    ip('netns', 'exec', SW, 'ip', 'link', 'set', port, 'master', 'br0')
    ip('netns', 'exec', SW, 'ip', 'link', 'set', port, 'up')
  })
  return null
}

function teardown(): void {
  for (const ns of [SW, ...names.map((n) => `${tag}${n}`)]) {
    try {
      ip('netns', 'del', ns)
    } catch {
      // not created
    }
  }
}

function digestDir(dir: string): string {
  const h = createHash('sha256')
  for (const f of readdirSync(dir).sort()) if (!f.startsWith('_') || f === '_SUCCESS') h.update(f).update(readFileSync(join(dir, f)))
  return h.digest('hex')
}

function inNs(ns: string, [script, ...args]: [string, ...string[]], out: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...runTs(script), ...args], { cwd: root, env: { ...process.env, SWITCHYARD_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (d: Buffer) => out.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => out.push(d.toString()))
  return child
}

test('workers in separate network namespaces give results identical to local mode', async (t) => {
  const why = process.platform === 'linux' ? setup() : 'network namespaces need Linux'
  if (why !== null) {
    teardown()
    t.skip(why)
    return
  }
  t.after(teardown)
  const dir = mkdtempSync(join(tmpdir(), 'sy-netns-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const lines: string[] = []
  for (let i = 0; i < 3000; i++) lines.push(`k${(i * 7919) % 311} k${i % 53} v${i % 7}`)
  const input = join(dir, 'in.txt')
  writeFileSync(input, lines.join('\n') + '\n')

  const local = new Context({ workers: 2 })
  const counts = local.textFile(input, { minPartitions: 6 }).flatMap((l) => l.split(/\s+/)).filter((w) => w.length > 0).map((w) => [w, 1] as const).reduceByKey((a, b) => a + b, { partitions: 4 })
  await counts.sortByKey().saveAsTextFile(join(dir, 'local'))
  const expected = (await counts.collect()).sort((a, b) => (a[0] < b[0] ? -1 : 1))
  await local.stop()

  const procs: ChildProcess[] = []
  t.after(() => {
    for (const p of procs) p.kill('SIGKILL')
  })
  const driverOut: string[] = []
  const driver = inNs(`${tag}c`, ['test/mapreduce/cluster/fixtures/netns-driver.ts', '10.213.0.1', input, join(dir, 'cluster'), '3'], driverOut)
  procs.push(driver)
  const exited = new Promise<number | null>((r) => driver.on('exit', (code) => r(code)))
  const deadline = Date.now() + 30_000
  while (!driverOut.join('').includes('READY')) {
    if (Date.now() > deadline || driver.exitCode !== null) assert.fail(`coordinator did not start: ${driverOut.join('')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  const workerOut: string[] = []
  for (let i = 1; i <= 3; i++) {
    const addr = `10.213.0.${i + 1}`
    procs.push(inNs(`${tag}w${i}`, ['src/cli/bin.ts', 'worker', '--connect', '10.213.0.1:7077', '--cores', '1', '--host', addr, '--heartbeat-interval-ms', '200', '--heartbeat-timeout-ms', '3000', '--cache-dir', join(dir, `cache-${i}`)], workerOut))
  }
  const code = await exited
  const text = driverOut.join('')
  assert.equal(code, 0, `driver failed: ${text}\n${workerOut.join('')}`)
  const line = text.split('\n').find((l) => l.startsWith('RESULT ')) as string
  const r = JSON.parse(line.slice(7)) as { sorted: unknown; hosts: string[]; served: number }
  assert.deepEqual(r.sorted, JSON.parse(JSON.stringify(expected)))
  assert.deepEqual([...r.hosts].sort(), ['10.213.0.2', '10.213.0.3', '10.213.0.4'])
  assert.ok(r.served > 0, 'shuffle blocks crossed namespaces')
  assert.equal(digestDir(join(dir, 'cluster')), digestDir(join(dir, 'local')))
})
