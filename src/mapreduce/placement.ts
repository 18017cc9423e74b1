// Where the scheduler puts a task: placeTask() decides per partition (a worker that caches its
// persisted input, a queue slot behind a holder's task of the same stage, an even share of fresh
// MEMORY_2 first copies, or the worker with the most free slots); the scheduler applies decisions.
import type { RunningTask, WorkerState } from './scheduler-state.js'
import type { PlanNode } from './task-spec.js'

/** Why a task attempt goes to the worker it goes to. */
export const PlacementReasons = {
  /** A free worker that holds the partition's persisted input. */
  LOCALITY: 'locality',
  /** Queued behind a holder's running task of the same stage; it starts when that one ends. */
  PIPELINED: 'pipelined',
  /** The first copy of a fresh MEMORY_2 partition, on a free worker still under its even share. */
  REPLICA_SPREAD: 'replica-spread',
  /** The free worker with the most free slots: no persisted input, or its locality wait is over. */
  FREE: 'free',
  /** A backup attempt of a straggler, on another worker (speculation.ts). */
  SPECULATIVE: 'speculative',
  /** The second copy of a MEMORY_2 partition, on a worker that does not hold it (replication.ts). */
  REPLICA: 'replica',
} as const
export type PlacementReason = (typeof PlacementReasons)[keyof typeof PlacementReasons]

/** Run the task on `worker`. */
export interface Launch {
  readonly kind: 'launch'
  readonly worker: WorkerState
  readonly reason: PlacementReason
}

/**
 * A partition's placement in one scheduling round. `locality-wait`: its holders are busy and
 * `worker` is free; the scheduler launches there (reason FREE) once the partition has waited
 * `localityWaitMs` for a holder, else leaves it for a later round. `none`: no worker for this
 * partition now, the next one may find one. `no-slot`: no worker has a slot (or a queue slot
 * when pipelining), so nothing more is placed this round.
 */
export type Placement =
  | Launch
  | { readonly kind: 'locality-wait'; readonly worker: WorkerState }
  | { readonly kind: 'none' }
  | { readonly kind: 'no-slot' }

const NONE: Placement = { kind: 'none' }
const NO_SLOT: Placement = { kind: 'no-slot' }

export function launchOn(worker: WorkerState, reason: PlacementReason): Launch {
  return { kind: 'launch', worker, reason }
}

/** What the scheduler knows of its workers, their tasks and their cached blocks. */
export interface ClusterView {
  readonly workers: ReadonlyMap<string, WorkerState>
  readonly running: ReadonlyMap<string, RunningTask>
  /** `cacheKey:partition` -> workers holding that persisted partition, the first copy first. */
  readonly cacheLocations: ReadonlyMap<string, Set<string>>
}

/** One ready stage's placement round (newStageRound); placeTask() fills in firstCopies on demand. */
export interface StageRound extends ClusterView {
  readonly stageKey: string
  readonly jobId: string
  /** Persisted datasets whose partition p this stage's partition p reads (all, and MEMORY_2 only). */
  readonly cacheKeys: readonly string[]
  readonly replicatedKeys: readonly string[]
  /** Tasks reading a cached partition may queue behind a holder's running task. */
  readonly pipelined: boolean
  /** Partitions in the stage: a worker's share of first copies is ceil(total / workers). */
  readonly total: number
  /** First copies per worker (firstCopyCounts), computed at the round's first spread decision. */
  firstCopies: Map<string, number> | null
}

export interface StageRoundOptions {
  readonly stageKey: string
  readonly jobId: string
  readonly plan: PlanNode
  readonly total: number
  /** The executor queues tasks on busy workers (Executor.queuesTasks). */
  readonly queuesTasks: boolean
  readonly speculation: boolean
}

export function newStageRound(view: ClusterView, o: StageRoundOptions): StageRound {
  const cacheKeys = cacheKeysOf(o.plan)
  return {
    workers: view.workers,
    running: view.running,
    cacheLocations: view.cacheLocations,
    stageKey: o.stageKey,
    jobId: o.jobId,
    cacheKeys,
    replicatedKeys: cacheKeysOf(o.plan, true),
    // Not with speculation: a queued task's wait would look like straggling.
    pipelined: cacheKeys.length > 0 && o.queuesTasks && !o.speculation,
    total: o.total,
    firstCopies: null,
  }
}

/**
 * The order a round places `missing` in: with persisted input, the partitions with the fewest
 * live holders first, so the ones only one worker can run take their places before the ones any
 * of two can, which then go where there is room. Without, as given (and not materialised).
 */
export function placementOrder(round: StageRound, missing: Iterable<number>): Iterable<number> {
  if (round.cacheKeys.length === 0) return missing
  const list = [...missing]
  return list.length > 1 ? byHolderCount(round.workers, round.cacheLocations, round.cacheKeys, list) : list
}

/**
 * Where partition p's task goes this round. The caller applies a launch before asking for the
 * next partition (the decision counts the slots it sees taken); a REPLICA_SPREAD decision counts
 * itself in `round.firstCopies`.
 */
export function placeTask(round: StageRound, p: number): Placement {
  const { workers } = round
  const free = freeWorker(workers)
  if (free === null && (!round.pipelined || !anyQueueSlot(workers))) return NO_SLOT
  if (round.cacheKeys.length === 0) return free === null ? NONE : launchOn(free, PlacementReasons.FREE)
  // Prefer a free worker that holds this partition's persisted input; else queue behind a
  // holder's running task (it would wait for that worker anyway; queued, it starts the moment
  // the worker is done, without a round trip to the driver); else wait a little.
  const holders = holdersOf(workers, round.cacheLocations, round.cacheKeys, p)
  if (holders.size > 0) {
    const local = firstFree(workers, holders)
    if (local !== null) return launchOn(local, PlacementReasons.LOCALITY)
    const queued = round.pipelined ? queueSlot(workers, round.running, holders, round.stageKey, round.jobId) : null
    if (queued !== null) return launchOn(queued, PlacementReasons.PIPELINED)
    return free === null ? NONE : { kind: 'locality-wait', worker: free }
  }
  if (free === null) return NONE
  if (round.replicatedKeys.length === 0) return launchOn(free, PlacementReasons.FREE)
  // A fresh MEMORY_2 partition: its first copy goes to a worker under its even share.
  round.firstCopies ??= firstCopyCounts(workers, round.cacheLocations, round.running, round.replicatedKeys, round.stageKey, round.jobId)
  const w = underShare(workers, round.firstCopies, Math.ceil(round.total / workers.size))
  if (w === null) return NONE
  round.firstCopies.set(w.info.id, (round.firstCopies.get(w.info.id) ?? 0) + 1)
  return launchOn(w, PlacementReasons.REPLICA_SPREAD)
}

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
