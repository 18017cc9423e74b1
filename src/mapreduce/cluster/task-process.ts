// Entry point of a task process forked by a cluster worker (one per core): runs the engine's
// runTask with the worker's local shuffle store and a fetcher that pulls remote blocks from other
// workers over authenticated TCP. The secret arrives over the IPC channel, never in argv or env.
// Exits when the worker daemon goes away (kill -9 of the daemon takes its tasks with it).
import { Worker } from 'node:worker_threads'
import { dropCached, partitionCache } from '../cache-store.js'
import { failureOf } from '../fetch-failed.js'
import { LocalShuffleStore } from '../local-shuffle-store.js'
import { runTask } from '../task-runner.js'
import type { TaskDescription, TaskFailure } from '../task-spec.js'
import { BlockFetcher } from './block-fetcher.js'
import { resolveCommon, type CommonClusterOptions } from './options.js'
import { RemoteShuffleFetcher } from './remote-fetcher.js'

export type ToTaskProcess =
  | { readonly type: 'init'; readonly options: CommonClusterOptions; readonly ownAddress: string; readonly cacheLimitBytes?: number }
  | { readonly type: 'task'; readonly key: string; readonly scope: string; readonly task: TaskDescription }
  | { readonly type: 'drop-cache'; readonly cacheKey: string }

export type FromTaskProcess =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly key: string; readonly outcome: unknown; readonly remoteBlocks: number; readonly cacheBytes: number }
  /** Bytes of persisted partitions this process holds (estimated in memory, exact on disk), after an unpersist. */
  | { readonly type: 'cache'; readonly cacheBytes: number }
  | { readonly type: 'failed'; readonly key: string; readonly failure: TaskFailure }

const cacheBytes = (): number => partitionCache.stats.memoryBytes + partitionCache.stats.diskBytes

let net: BlockFetcher | undefined
let ownAddress = ''
let queue: Promise<void> = Promise.resolve()

const send = (m: FromTaskProcess): void => {
  // The daemon died while this task ran: leave quietly instead of crashing on EPIPE.
  process.send?.(m, undefined, {}, (err: Error | null) => {
    if (err !== null) leave()
  })
}


async function run(key: string, scope: string, task: TaskDescription): Promise<void> {
  try {
    if (net === undefined) throw new Error('task process not initialised')
    const store = new LocalShuffleStore(task.scratchDir)
    const fetcher = new RemoteShuffleFetcher(scope, ownAddress, store, net)
    const outcome = await runTask(task, { store, fetcher })
    send({ type: 'done', key, outcome, remoteBlocks: fetcher.remoteBlocks, cacheBytes: cacheBytes() })
  } catch (err) {
    send({ type: 'failed', key, failure: failureOf(err) })
  }
}

process.on('message', (msg: ToTaskProcess) => {
  if (msg.type === 'init') {
    net = new BlockFetcher(resolveCommon(msg.options))
    ownAddress = msg.ownAddress
    partitionCache.workerLimitBytes = msg.cacheLimitBytes
    send({ type: 'ready' })
  } else if (msg.type === 'task') {
    // One task at a time, in arrival order: the daemon sends a queued task before this one ends.
    queue = queue.then(() => run(msg.key, msg.scope, msg.task))
  } else if (msg.type === 'drop-cache') {
    // In turn with the tasks: a collection then runs between two tasks, not inside one.
    queue = queue.then(() => {
      dropCached(msg.cacheKey)
      send({ type: 'cache', cacheBytes: cacheBytes() })
    })
  }
})

/**
 * The 'disconnect' event waits for the event loop, which a running task may hold for a long
 * time, and comes only once the dead daemon's memory is freed (tens of ms): meanwhile the orphan
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
const watcher = process.platform === 'win32' ? undefined : new Worker(ORPHAN_WATCHER, { eval: true, workerData: process.ppid, execArgv: [], stdout: false, stderr: false })
watcher?.unref()

/** The daemon is gone (IPC closed or a send failed): nobody can take results any more. */
function leave(): void {
  if (watcher === undefined) process.exit(0)
  else watcher.postMessage('leave')
}

process.on('disconnect', leave)
