// A worker daemon killed with SIGKILL takes its task processes with it, even one stuck in a long
// synchronous task (whose event loop would never deliver the IPC 'disconnect' in time).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const root = new URL('../../../', import.meta.url).pathname

// A stand-in daemon: forks the real task process, initialises it, sends one task that spins
// synchronously for 60 s, prints the task process's pid, then idles.
const DAEMON = `
import { fork } from 'node:child_process'
const child = fork('src/mapreduce/cluster/task-process.ts', [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
child.send({ type: 'init', options: { secret: 'orphan-test-secret-16b' }, ownAddress: '127.0.0.1:1' })
child.on('message', (m) => {
  if (m.type !== 'ready') return
  const source = '((x) => { const end = Date.now() + 60000; while (Date.now() < end); return x })'
  const task = { taskId: 'j.0.0.0', jobId: 'j', stageId: 0, partition: 0, attempt: 0, shuffleInputs: {}, memoryBudgetBytes: 1 << 24, scratchDir: '/nonexistent',
    plan: { id: 1, partitions: 1, op: 'map', fn: { kind: 'source', source }, input: { kind: 'narrow', node: { id: 0, partitions: 1, op: 'range', start: 0, end: 1, step: 1 } } },
    output: { kind: 'count' } }
  child.send({ type: 'task', key: 'k', scope: 'test', task })
  setTimeout(() => console.log(child.pid), 500)
})
setInterval(() => {}, 1000)
`

/** 'gone', 'zombie' or the state letter of /proc/<pid>/stat. */
function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const s = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return s === 'Z' || s === 'X' ? 'zombie' : s
  } catch {
    return 'gone'
  }
}

test('kill -9 of the worker daemon: its task process, busy in a synchronous task, exits within 2 s', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async (t) => {
  const daemon = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', DAEMON], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  let taskPid = 0
  t.after(() => {
    daemon.kill('SIGKILL')
    if (taskPid > 0 && state(taskPid) !== 'gone') process.kill(taskPid, 'SIGKILL')
  })
  const lines = createInterface({ input: daemon.stdout as NodeJS.ReadableStream })
  for await (const line of lines) {
    taskPid = Number(line)
    break
  }
  assert.ok(taskPid > 0, 'the daemon printed its task process pid')
  assert.equal(state(taskPid), 'R', 'the task process is spinning in its task')
  daemon.kill('SIGKILL')
  const deadline = Date.now() + 2_000
  while (state(taskPid) !== 'gone' && state(taskPid) !== 'zombie') {
    if (Date.now() > deadline) assert.fail(`task process ${taskPid} still ${state(taskPid)} 2 s after its daemon was killed`)
    await new Promise((r) => setTimeout(r, 20))
  }
})
