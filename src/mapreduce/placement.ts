// Where the scheduler puts a task: the worker with the most free slots, a worker that caches the
// task's persisted input (cache locality), or a queue slot behind a holder's task of the same stage.
import type { RunningTask, WorkerState } from './scheduler-state.js'
import type { PlanNode } from './task-spec.js'

/** Ops whose partition p reads partition p of their single input (cache locality follows them). */
const ONE_TO_ONE = new Set(['map', 'flatMap', 'filter', 'mapValues', 'flatMapValues', 'keyBy', 'mapPartitions', 'sample', 'zipWithIndex', 'keys', 'values', 'tagged'])

/** Cache keys whose partition p feeds partition p of `plan` (only the replicated ones with `replicated`). */
export function cacheKeysOf(plan: PlanNode, replicated = false): string[] {
  const keys: string[] = []
  let node: PlanNode | undefined = plan
  while (node !== undefined) {
    if (node.op === 'cached' && (!replicated || node.level === 'MEMORY_2')) keys.push(node.cacheKey)
    if (node.op === 'cached' || ONE_TO_ONE.has(node.op)) {
      const input: unknown = (node as { input?: unknown }).input
      node = (input as { kind?: string } | undefined)?.kind === 'narrow' ? (input as { node: PlanNode }).node : undefined
    } else if (node.op === 'shuffled') {
      const narrow = node.inputs.find((i) => i.kind === 'narrow')
      node = narrow?.kind === 'narrow' ? narrow.node : undefined
    } else node = undefined
  }
  return keys
}

/** The worker (of `among`, if given) with the most free slots, or null when none has one. */
export function freeWorker(workers: ReadonlyMap<string, WorkerState>, among?: ReadonlySet<string>): WorkerState | null {
  let best: WorkerState | null = null
  for (const w of workers.values()) {
    if (among !== undefined && !among.has(w.info.id)) continue
    const free = w.info.slots - w.running.size
    if (free > 0 && (best === null || free > best.info.slots - best.running.size)) best = w
  }
  return best
}

/** The first worker of `among` (in its order) with a free slot. */
export function firstFree(workers: ReadonlyMap<string, WorkerState>, among: ReadonlySet<string>): WorkerState | null {
  for (const id of among) {
    const w = workers.get(id)
    if (w !== undefined && w.running.size < w.info.slots) return w
  }
  return null
}

/**
 * A holder with every slot busy and nothing queued yet (one queued task per worker at most),
 * busy only with tasks of the same stage, so the queued task waits about one task's time and
 * never behind an unrelated long task (then the locality wait applies as before).
 */
export function queueSlot(workers: ReadonlyMap<string, WorkerState>, running: ReadonlyMap<string, RunningTask>, among: ReadonlySet<string>, stageKey: string, jobId: string): WorkerState | null {
  for (const id of among) {
    const w = workers.get(id)
    if (w === undefined || w.running.size !== w.info.slots) continue
    let same = true
    for (const tid of w.running) {
      const t = running.get(tid)
      if (t === undefined || t.stageKey !== stageKey || t.jobId !== jobId) same = false
    }
    if (same) return w
  }
  return null
}

export function anyQueueSlot(workers: ReadonlyMap<string, WorkerState>): boolean {
  for (const w of workers.values()) if (w.running.size <= w.info.slots) return true
  return false
}

/**
 * Workers holding partition p of any of these persisted datasets, the one that cached it first
 * (its first copy) first: tasks go to the first copy's worker when it is free, so every worker
 * runs the partitions whose second copies replicate() spread over the others.
 */
export function holdersOf(workers: ReadonlyMap<string, WorkerState>, cacheLocations: ReadonlyMap<string, Set<string>>, cacheKeys: readonly string[], p: number): Set<string> {
  const out = new Set<string>()
  for (const k of cacheKeys) for (const w of cacheLocations.get(`${k}:${p}`) ?? []) if (workers.has(w)) out.add(w)
  return out
}

/**
 * First copies per worker of the MEMORY_2 partitions behind `replicatedKeys`, counting the fresh
 * ones its running tasks of this stage are computing. Tasks later run where the first copy lives,
 * and a dead worker's partitions rerun on the survivors holding their second copies; only with
 * first copies spread evenly does every survivor then get the same share (with 3/2/1 first copies
 * over 3 workers a survivor ran 4 of 6 tasks while the other idled).
 */
export function firstCopyCounts(workers: ReadonlyMap<string, WorkerState>, cacheLocations: ReadonlyMap<string, Set<string>>, running: ReadonlyMap<string, RunningTask>, replicatedKeys: readonly string[], stageKey: string, jobId: string): Map<string, number> {
  const n = new Map<string, number>()
  for (const id of workers.keys()) n.set(id, 0)
  const bump = (id: string | undefined): void => {
    if (id !== undefined && n.has(id)) n.set(id, (n.get(id) as number) + 1)
  }
  for (const [block, holders] of cacheLocations) {
    if (replicatedKeys.some((k) => block.startsWith(`${k}:`))) bump(holders.values().next().value)
  }
  for (const t of running.values()) {
    if (t.stageKey !== stageKey || t.jobId !== jobId || t.replica || t.speculative) continue
    if (holdersOf(workers, cacheLocations, replicatedKeys, t.partition).size === 0) bump(t.workerId)
  }
  return n
}

/** A free worker still under its share (`perWorker`) of first copies, or null (then a replica task can have the slot). */
export function underShare(workers: ReadonlyMap<string, WorkerState>, counts: ReadonlyMap<string, number>, perWorker: number): WorkerState | null {
  const among = new Set<string>()
  for (const [id, c] of counts) if (c < perWorker) among.add(id)
  return among.size === 0 ? null : freeWorker(workers, among)
}

/** `partitions` ordered by how many live workers hold their persisted input, fewest first (stable). */
export function byHolderCount(workers: ReadonlyMap<string, WorkerState>, cacheLocations: ReadonlyMap<string, Set<string>>, cacheKeys: readonly string[], partitions: readonly number[]): number[] {
  const n = new Map<number, number>()
  for (const p of partitions) n.set(p, holdersOf(workers, cacheLocations, cacheKeys, p).size)
  return [...partitions].sort((a, b) => (n.get(a) as number) - (n.get(b) as number))
}
