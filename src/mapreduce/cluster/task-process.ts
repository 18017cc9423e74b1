// Entry point of a task process forked by a cluster worker (one per core): runs the engine's
// runTask with the worker's local shuffle store and a fetcher that pulls remote blocks from other
// workers over authenticated TCP. The secret arrives over the IPC channel, never in argv or env.
// Exits when the worker daemon goes away (kill -9 of the daemon takes its tasks with it).
import { setPriority } from 'node:os'
import { FetchFailedError } from '../fetch-failed.js'
import { LocalShuffleStore } from '../local-shuffle-store.js'
import { runTask } from '../task-runner.js'
import type { TaskDescription, TaskFailure } from '../task.js'
import { BlockFetcher } from './block-fetcher.js'
import { resolveCommon, type CommonClusterOptions } from './options.js'
import { RemoteShuffleFetcher } from './remote-fetcher.js'

export type ToTaskProcess =
  | { readonly type: 'init'; readonly options: CommonClusterOptions; readonly ownAddress: string }
  | { readonly type: 'task'; readonly key: string; readonly scope: string; readonly task: TaskDescription }

export type FromTaskProcess =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly key: string; readonly outcome: unknown; readonly remoteBlocks: number }
  | { readonly type: 'failed'; readonly key: string; readonly failure: TaskFailure }

let net: BlockFetcher | undefined
let ownAddress = ''
let queue: Promise<void> = Promise.resolve()

/**
 * The worker daemon died (kill -9): nobody can take results any more, so exit. At the lowest CPU
 * priority first: freeing this process's memory (its cached partitions, hundreds of MB) takes the
 * kernel tens of ms of CPU, charged to this process; at nice 19 it yields to the surviving
 * workers' tasks, which are busy just then rerunning the lost worker's tasks.
 */
function leave(): never {
  try {
    setPriority(process.pid, 19)
  } catch {
    // not permitted here: exit at the current priority
  }
  process.exit(0)
}

const send = (m: FromTaskProcess): void => {
  // The daemon died while this task ran: leave quietly instead of crashing on EPIPE.
  process.send?.(m, undefined, {}, (err: Error | null) => {
    if (err !== null) leave()
  })
}

function failureOf(err: unknown): TaskFailure {
  const e = err instanceof Error ? err : new Error(String(err))
  const code = (e as { code?: unknown }).code
  return {
    message: e.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(err instanceof FetchFailedError ? { fetchFailed: { shuffleId: err.shuffleId, mapId: err.mapId } } : {}),
  }
}

async function run(key: string, scope: string, task: TaskDescription): Promise<void> {
  try {
    if (net === undefined) throw new Error('task process not initialised')
    const store = new LocalShuffleStore(task.scratchDir)
    const fetcher = new RemoteShuffleFetcher(scope, ownAddress, store, net)
    const outcome = await runTask(task, { store, fetcher })
    send({ type: 'done', key, outcome, remoteBlocks: fetcher.remoteBlocks })
  } catch (err) {
    send({ type: 'failed', key, failure: failureOf(err) })
  }
}

process.on('message', (msg: ToTaskProcess) => {
  if (msg.type === 'init') {
    net = new BlockFetcher(resolveCommon(msg.options))
    ownAddress = msg.ownAddress
    send({ type: 'ready' })
  } else if (msg.type === 'task') {
    // One task at a time, in arrival order: the daemon sends a queued task before this one ends.
    queue = queue.then(() => run(msg.key, msg.scope, msg.task))
  }
})
process.on('disconnect', leave)
