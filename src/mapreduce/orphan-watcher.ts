// Task processes end with the process that started them: a cluster worker daemon's task processes,
// and a local driver's worker processes. A driver or daemon killed with kill -9 cannot tell them;
// without this, each went on computing its current task (and, locally, its queued ones) at full
// CPU until the task ended, which for a long task means hours.
import { Worker } from 'node:worker_threads'

/**
 * The 'disconnect' event waits for the event loop, which a running task may hold for a long
 * time, and comes only once the dead parent's memory is freed (tens of ms): meanwhile the orphan
 * would go on computing at full priority, taking CPU from the survivors that rerun its work. A
 * watcher thread checks every 10 ms whether the daemon has begun to exit (Linux: the PF_EXITING
 * flag in /proc/<ppid>/stat; elsewhere: this process was reparented), then lowers every thread of
 * this process to nice 19 and kills it: the task processes go with their daemon, as they would
 * with the machine. Freeing this process's memory (hundreds of MB of cached partitions) costs the
 * kernel tens of ms of CPU; at nice 19 that yields to the survivors rerunning the lost work.
 */
const ORPHAN_WATCHER = `
const { workerData: daemon } = require('node:worker_threads')
const { readdirSync, readFileSync } = require('node:fs')
const { setPriority } = require('node:os')
const PF_EXITING = 0x4
function exiting() {
  if (process.ppid !== daemon) return true
  if (process.platform !== 'linux') return false
  let stat
  try {
    stat = readFileSync('/proc/' + daemon + '/stat', 'latin1')
  } catch {
    return true
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return f[0] === 'Z' || f[0] === 'X' || (Number(f[6]) & PF_EXITING) !== 0
}
// Every thread, not only the main one: on Linux a priority belongs to a thread, and the memory is
// freed by whichever thread exits last (often a V8 or libuv worker thread).
function leave() {
  clearInterval(timer)
  let threads = [process.pid]
  try { threads = readdirSync('/proc/self/task').map(Number) } catch {}
  for (const tid of threads) { try { setPriority(tid, 19) } catch {} }
  process.kill(process.pid, 'SIGKILL')
}
const timer = setInterval(() => { if (exiting()) leave() }, 10)
require('node:worker_threads').parentPort.on('message', leave)`

/**
 * Starts the watcher thread for this process's parent (the daemon, or the driver for a local
 * worker) and returns `leave`, which ends this process the same way at once: call it when the IPC
 * channel closes or a send fails.
 */
export function leaveWithParent(): () => void {
  const watcher = process.platform === 'win32' ? undefined : new Worker(ORPHAN_WATCHER, { eval: true, workerData: process.ppid, execArgv: [], stdout: false, stderr: false })
  watcher?.unref()
  return () => {
    if (watcher === undefined) process.exit(0)
    else watcher.postMessage('leave')
  }
}

