// Entry point of a task process forked by a cluster worker (one per core): runs the engine's
// runTask with the worker's local shuffle store and a fetcher that pulls remote blocks from other
// workers over authenticated TCP. The secret arrives over the IPC channel, never in argv or env.
// Exits when the worker daemon goes away (kill -9 of the daemon takes its tasks with it).
import { dropCached, partitionCache } from '../cache-store.js'
import { failureOf } from '../fetch-failed.js'
import { LocalShuffleStore } from '../local-shuffle-store.js'
import { leaveWithParent } from '../orphan-watcher.js'
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

/** The daemon is gone (IPC closed or a send failed): nobody can take results any more. */
const leave = leaveWithParent()

process.on('disconnect', leave)
