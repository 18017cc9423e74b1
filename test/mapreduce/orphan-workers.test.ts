// A driver killed with kill -9 takes its local worker processes with it, even in the middle of a
// task that holds the worker's event loop (orphan-watcher.ts): before, a worker noticed the lost
// driver only when its task let go of the event loop, and went on computing until then (here 60 s).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { runTs } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

/** Fields after the command name of /proc/<pid>/stat (state is [0], ppid [1], utime [11]); null when gone. */
function stat(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

const childrenOf = (pid: number): number[] => readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(stat(Number(n))?.[1]) === pid).map(Number)
const running = (pid: number): boolean => {
  const s = stat(pid)
  return s !== null && s[0] !== 'Z'
}

test('a killed driver\'s worker stops in the middle of a task that holds its event loop', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async (t) => {
  const driver = spawn(process.execPath, runTs('test/mapreduce/fixtures/spin-driver.ts'), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => {
    if (driver.exitCode === null) driver.kill('SIGKILL')
  })
  let out = ''
  driver.stdout.on('data', (c: Buffer) => (out += c.toString()))
  driver.stderr.on('data', (c: Buffer) => (out += c.toString()))
  // Wait until the worker is inside the task: its CPU time (utime, clock ticks) keeps growing.
  const deadline = Date.now() + 60_000
  let worker: number | undefined
  while (Date.now() < deadline && driver.exitCode === null) {
    worker = childrenOf(driver.pid as number)[0]
    if (worker !== undefined && out.includes('submitted') && Number(stat(worker)?.[11] ?? 0) >= 50) break
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.ok(worker !== undefined && running(worker), `no worker spinning in its task: ${out}`)
  t.after(() => {
    if (running(worker as number)) process.kill(worker as number, 'SIGKILL')
  })
  driver.kill('SIGKILL')
  await new Promise((r) => driver.once('exit', r))
  // The task has about 59 s to go; the watcher checks every 10 ms.
  const killedAt = Date.now()
  while (running(worker) && Date.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 20))
  assert.equal(running(worker), false, `worker ${worker} still computing ${Date.now() - killedAt} ms after its driver was killed`)
})
