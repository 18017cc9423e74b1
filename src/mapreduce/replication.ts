// MEMORY_2 replica placement: a partition cached for the first time is computed again on a second
// worker, chosen so the second copies of each worker's partitions spread evenly over the others.
import { cacheKeysOf, freeWorker, launchOn, PlacementReasons, type Launch } from './placement.js'
import type { ActiveJob, PendingReplica, RunningTask, WorkerState } from './scheduler-state.js'

/**
 * Records the persisted partitions a successful task stored or read on `workerId`; the first copy
 * of a MEMORY_2 partition (not a cache hit) is queued in `job.replicas` for its second copy.
 */
export function recordCachedBlocks(cacheLocations: Map<string, Set<string>>, job: ActiveJob, t: RunningTask, workerId: string, blocks: readonly string[] | undefined): void {
  const replicated = t.replica ? [] : replicatedBlocks(job, t)
  let fresh = false
  for (const b of blocks ?? []) {
    let holders = cacheLocations.get(b)
    if (holders === undefined) cacheLocations.set(b, (holders = new Set()))
    // First copy of a MEMORY_2 partition (not a cache hit): it needs its second copy.
    if (holders.size === 0 && replicated.includes(b)) fresh = true
    holders.add(workerId)
  }
  if (fresh) job.replicas.set(`${t.stageKey}:${t.partition}`, { stageKey: t.stageKey, partition: t.partition, holder: workerId, on: null })
}

/** `cacheKey:partition` of the MEMORY_2 partitions task t reads in place. */
function replicatedBlocks(job: ActiveJob, t: RunningTask): string[] {
  const plan = t.shuffleId === null ? job.req.plan : job.req.shuffles.get(t.shuffleId)?.plan
  return plan === undefined ? [] : cacheKeysOf(plan, true).map((k) => `${k}:${t.partition}`)
}

/**
 * Second copies of MEMORY_2 partitions stage `key` cached for the first time: `launch` runs the
 * same task again on a free worker that does not hold it (its result is a duplicate and is
 * dropped; accumulators and output commit count the first attempt only).
 */
export function replicate(
  replicas: Map<string, PendingReplica>,
  key: string,
  workers: ReadonlyMap<string, WorkerState>,
  cacheLocations: ReadonlyMap<string, Set<string>>,
  launch: (partition: number, placement: Launch) => void,
): void {
  let copies: Map<string, number> | null = null
  for (const [rk, r] of replicas) {
    if (r.stageKey !== key || r.on !== null) continue
    const others = [...workers.keys()].filter((w) => w !== r.holder)
    if (others.length === 0) {
      replicas.delete(rk) // a single worker: nowhere to put a second copy
      continue
    }
    // Only the workers holding the fewest second copies of the holder's partitions: the tasks
    // a lost worker ran (its first copies, see holdersOf() in placement.ts) then find their other
    // copies spread over the survivors instead of queueing behind one (that queue made a fault
    // iteration ~2x long).
    copies ??= secondCopies(cacheLocations, replicas)
    const shared = others.map((w) => copies?.get(`${r.holder} ${w}`) ?? 0)
    const least = Math.min(...shared)
    const w = freeWorker(workers, new Set(others.filter((_, i) => shared[i] === least)))
    if (w === null) continue
    r.on = w.info.id
    copies.set(`${r.holder} ${r.on}`, least + 1)
    launch(r.partition, launchOn(w, PlacementReasons.REPLICA))
  }
}

/**
 * Per `first second` worker pair: persisted partitions first cached on `first` whose second copy
 * is on (or going to) `second`. One pass over the cache locations.
 */
function secondCopies(cacheLocations: ReadonlyMap<string, Set<string>>, replicas: ReadonlyMap<string, PendingReplica>): Map<string, number> {
  const n = new Map<string, number>()
  const add = (pair: string): void => void n.set(pair, (n.get(pair) ?? 0) + 1)
  for (const holders of cacheLocations.values()) {
    const [first, ...rest] = holders
    for (const second of rest) add(`${first} ${second}`)
  }
  for (const r of replicas.values()) if (r.on !== null) add(`${r.holder} ${r.on}`)
  return n
}
