// Node users expect a finished script to exit: idle local workers do not hold the driver's event loop
// open, so a script that forgets sc.stop() exits once its jobs are done, and its workers go with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { runTs } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('a driver script that never calls sc.stop() exits when its work is done, and its workers exit too', async () => {
  const child = spawn(process.execPath, [...runTs('test/mapreduce/fixtures/forgets-stop.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])))
  clearTimeout(timer)
  assert.equal(signal, null, `the script was still running after 60 s and had to be killed: ${out}`)
  assert.equal(code, 0, out)
  const m = /sum=42 groups=2 pids=([\d,]+)/.exec(out)
  assert.ok(m !== null, out)
  const pids = (m[1] as string).split(',').map(Number)
  assert.equal(pids.length, 2)
  const deadline = Date.now() + 10_000
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  assert.deepEqual(pids.filter(alive), [], 'workers outlived their driver')
})
