// The DAG scheduler shared by local and cluster mode: runs a job's stages over an Executor.
// Map stages (one per shuffle) run before the stages that read them; a map stage whose outputs
// all exist (from an earlier job) is skipped. Each partition is a task; a task that fails by error
// is retried up to `maxAttempts` times, then the job fails naming the stage, partition and error.
// A lost worker's running tasks are rerun elsewhere (not counted as attempts) and its map outputs
// are forgotten, so the stages that wrote them recompute just those partitions from lineage.
import { JobError, JobErrorCodes } from './errors.js'
import type { Executor, ExecutorEvent, WorkerInfo } from './executor.js'
import { addMetrics, newStageSummary, type JobSummary, type StageSummary } from './summary.js'
import { taskId, type MapOutputLocation, type PlanNode, type TaskDescription, type TaskMetrics, type TaskOutput, type TaskResult } from './task.js'

export interface ShuffleStageDef {
  readonly shuffleId: number
  readonly name: string
  readonly partitions: number
  readonly plan: PlanNode
  readonly output: Extract<TaskOutput, { kind: 'shuffle' }>
  /** Shuffle ids this stage's plan reads. */
  readonly parents: readonly number[]
}

export interface JobRequest {
  readonly jobId: string
  readonly action: string
  readonly name: string
  readonly plan: PlanNode
  /** Partitions of `plan` to compute. */
  readonly partitions: readonly number[]
  readonly output: TaskOutput
  readonly parents: readonly number[]
  /** Every shuffle stage reachable from the result stage. */
  readonly shuffles: ReadonlyMap<number, ShuffleStageDef>
  readonly scratchDir: string
  readonly memoryBudgetBytes: number
  /** Called once per partition with the first successful result; later attempts are `duplicate`. */
  onResult(partition: number, result: TaskResult, duplicate: boolean): void
  onProgress?(job: JobSummary): void
}

interface RunningTask {
  readonly stageKey: string
  readonly partition: number
  readonly workerId: string
  readonly shuffleId: number | null
  readonly attempt: number
  readonly jobId: string
  readonly startedAt: number
  /** A backup copy launched by speculation. */
  readonly speculative: boolean
  /** A second copy run only to cache a MEMORY_2 partition on another worker (its result is a duplicate). */
  readonly replica: boolean
}

/** A MEMORY_2 partition cached on one worker so far: its task is run again on another worker. */
interface PendingReplica {
  readonly stageKey: string
  readonly partition: number
  readonly holder: string
  /** Worker computing the second copy, once launched. */
  on: string | null
}

/** Ops whose partition p reads partition p of their single input (cache locality follows them). */
const ONE_TO_ONE = new Set(['map', 'flatMap', 'filter', 'mapValues', 'flatMapValues', 'keyBy', 'mapPartitions', 'sample', 'zipWithIndex', 'keys', 'values', 'tagged'])

/** Cache keys whose partition p feeds partition p of `plan` (only the replicated ones with `replicated`). */
function cacheKeysOf(plan: PlanNode, replicated = false): string[] {
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

interface ActiveJob {
  readonly req: JobRequest
  readonly summary: JobSummary
  readonly order: readonly (number | null)[]
  readonly done: Set<number>
  readonly failures: Map<string, number>
  readonly stageSummaries: Map<string, StageSummary>
  failed: JobError | null
  resolve: () => void
  /** Durations (ms) of successful tasks per stage key, for speculation. */
  readonly durations: Map<string, number[]>
  /** When a task first waited for its preferred (cache-holding) worker, per stage:partition. */
  readonly localityWait: Map<string, number>
  /** MEMORY_2 partitions waiting for (or computing) their second copy, per stage:partition. */
  readonly replicas: Map<string, PendingReplica>
}

export interface SchedulerOptions {
  readonly maxAttempts: number
  /** How long a job waits for a replacement when every worker is lost. Default 30 s. */
  readonly workerWaitMs?: number
  /** Launch backup attempts of stragglers (see speculationQuantile / speculationMultiplier). */
  readonly speculation?: boolean
  readonly speculationQuantile?: number
  readonly speculationMultiplier?: number
  /** How long a task waits for the worker that caches its input (ms). Default 3000. */
  readonly localityWaitMs?: number
  /** Called once per partition with the metrics of its first successful attempt (accumulators). */
  readonly onTaskCommitted?: (metrics: TaskMetrics) => void
}

export class Scheduler {
  readonly #executor: Executor
  readonly #options: SchedulerOptions
  readonly #workers = new Map<string, { info: WorkerInfo; running: Set<string> }>()
  readonly #mapOutputs = new Map<number, (MapOutputLocation | null)[]>()
  readonly #stageIds = new Map<number, number>()
  readonly #attemptSeq = new Map<string, number>()
  readonly #running = new Map<string, RunningTask>()
  #job: ActiveJob | null = null
  /** `cacheKey:partition` -> workers holding that persisted partition. */
  readonly #cacheLocations = new Map<string, Set<string>>()
  /** Backup attempts launched (tests and summaries). */
  speculativeLaunches = 0
  #nextStageId = 0
  #started: Promise<void> | null = null
  #idleResolvers: (() => void)[] = []

  constructor(executor: Executor, options: SchedulerOptions) {
    this.#executor = executor
    this.#options = options
  }

  async start(): Promise<void> {
    this.#started ??= this.#executor.start((e) => this.#onEvent(e)).then((infos) => {
      for (const info of infos) this.#workers.set(info.id, { info, running: new Set() })
    })
    await this.#started
  }

  /** unpersist(): no worker holds partitions of `cacheKey` any more. */
  forgetCached(cacheKey: string): void {
    for (const k of this.#cacheLocations.keys()) if (k.startsWith(`${cacheKey}:`)) this.#cacheLocations.delete(k)
  }

  /** Forgets every map output of a shuffle (unpersist / cleanup). */
  dropShuffle(shuffleId: number): void {
    this.#mapOutputs.delete(shuffleId)
  }

  #stageId(shuffleId: number | null): number {
    if (shuffleId === null) return this.#nextStageId++
    let id = this.#stageIds.get(shuffleId)
    if (id === undefined) {
      id = this.#nextStageId++
      this.#stageIds.set(shuffleId, id)
    }
    return id
  }

  #outputs(def: ShuffleStageDef): (MapOutputLocation | null)[] {
    let outs = this.#mapOutputs.get(def.shuffleId)
    if (outs === undefined) {
      outs = new Array<MapOutputLocation | null>(def.partitions).fill(null)
      this.#mapOutputs.set(def.shuffleId, outs)
    }
    return outs
  }

  #complete(shuffleId: number): boolean {
    const outs = this.#mapOutputs.get(shuffleId)
    return outs !== undefined && outs.every((o) => o !== null)
  }

  async runJob(req: JobRequest): Promise<JobSummary> {
    await this.start()
    // Topological order of the shuffle stages this job needs (parents first), then the result stage.
    const order: (number | null)[] = []
    const seen = new Set<number>()
    const visit = (id: number): void => {
      if (seen.has(id)) return
      seen.add(id)
      const def = req.shuffles.get(id)
      if (def === undefined) throw new Error(`Missing definition of shuffle ${id}`)
      for (const p of def.parents) visit(p)
      order.push(id)
    }
    for (const p of req.parents) visit(p)
    order.push(null)
    const summary: JobSummary = { jobId: req.jobId, action: req.action, status: 'running', stages: [], ms: 0, workersLost: 0 }
    const stageSummaries = new Map<string, StageSummary>()
    for (const id of order) {
      const def = id === null ? null : (req.shuffles.get(id) as ShuffleStageDef)
      const s = newStageSummary(this.#stageId(id), def === null ? req.name : def.name, def === null ? 'result' : 'map', def === null ? req.partitions.length : def.partitions)
      if (def !== null && this.#complete(def.shuffleId)) s.status = 'skipped'
      stageSummaries.set(id === null ? 'result' : `s${id}`, s)
      summary.stages.push(s)
    }
    const started = performance.now()
    const job: ActiveJob = { req, summary, order, done: new Set(), failures: new Map(), stageSummaries, failed: null, resolve: () => {}, durations: new Map(), localityWait: new Map(), replicas: new Map() }
    const finished = new Promise<void>((resolve) => { job.resolve = resolve })
    this.#job = job
    this.#schedule()
    // Stragglers send no events while they straggle: look at the clock now and then.
    const ticker = this.#options.speculation === true ? setInterval(() => this.#schedule(), 100) : undefined
    try {
      await finished
    } finally {
      if (ticker !== undefined) clearInterval(ticker)
    }
    this.#job = null
    // Backup copies (or originals) still running belong to a finished job: drop them now so a late
    // report can never be taken for a task of the next job. They keep their slot until they report.
    for (const [tid, t] of this.#running) {
      if (t.jobId !== req.jobId) continue
      this.#running.delete(tid)
      this.#executor.cancel(tid)
    }
    summary.ms = performance.now() - started
    if (job.failed !== null) {
      summary.status = 'failed'
      summary.error = job.failed.message
      for (const s of summary.stages) if (s.status === 'running' || s.status === 'pending') s.status = 'failed'
      // Let tasks of this job that still run finish (bounded), so nothing writes after cleanup.
      await this.#drain(10_000)
      req.onProgress?.(summary)
      throw job.failed
    }
    summary.status = 'succeeded'
    req.onProgress?.(summary)
    this.#executor.endJob(req.jobId, req.scratchDir)
    return summary
  }

  #drain(ms: number): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.#running.clear(); resolve() }, ms)
      this.#idleResolvers.push(() => { clearTimeout(t); resolve() })
    })
  }

  #fail(job: ActiveJob, err: JobError): void {
    if (job.failed !== null) return
    job.failed = err
    for (const [id, t] of this.#running) if (t.stageKey !== '') this.#executor.cancel(id)
    job.resolve()
  }

  #freeWorker(among?: ReadonlySet<string>): { info: WorkerInfo; running: Set<string> } | null {
    let best: { info: WorkerInfo; running: Set<string> } | null = null
    for (const w of this.#workers.values()) {
      if (among !== undefined && !among.has(w.info.id)) continue
      const free = w.info.slots - w.running.size
      if (free > 0 && (best === null || free > best.info.slots - best.running.size)) best = w
    }
    return best
  }

  /** The first worker of `among` (in its order) with a free slot. */
  #firstFree(among: ReadonlySet<string>): { info: WorkerInfo; running: Set<string> } | null {
    for (const id of among) {
      const w = this.#workers.get(id)
      if (w !== undefined && w.running.size < w.info.slots) return w
    }
    return null
  }

  /**
   * A holder with every slot busy and nothing queued yet (one queued task per worker at most),
   * busy only with tasks of the same stage, so the queued task waits about one task's time and
   * never behind an unrelated long task (then the locality wait applies as before).
   */
  #queueSlot(among: ReadonlySet<string>, stageKey: string, jobId: string): { info: WorkerInfo; running: Set<string> } | null {
    for (const id of among) {
      const w = this.#workers.get(id)
      if (w === undefined || w.running.size !== w.info.slots) continue
      let same = true
      for (const tid of w.running) {
        const t = this.#running.get(tid)
        if (t === undefined || t.stageKey !== stageKey || t.jobId !== jobId) same = false
      }
      if (same) return w
    }
    return null
  }

  #anyQueueSlot(): boolean {
    for (const w of this.#workers.values()) if (w.running.size <= w.info.slots) return true
    return false
  }

  #isRunning(stageKey: string, partition: number): boolean {
    for (const t of this.#running.values()) if (t.stageKey === stageKey && t.partition === partition) return true
    return false
  }

  #schedule(): void {
    const job = this.#job
    if (job === null || job.failed !== null) return
    const req = job.req
    // With no worker left, wait for a replacement; the worker-lost handler fails the job if none comes.
    if (this.#workers.size === 0) return
    for (const id of job.order) {
      const key = id === null ? 'result' : `s${id}`
      const stage = job.stageSummaries.get(key) as StageSummary
      let missing: number[]
      let parents: readonly number[]
      let def: ShuffleStageDef | null = null
      if (id === null) {
        missing = req.partitions.filter((p) => !job.done.has(p))
        parents = req.parents
        if (missing.length === 0) {
          this.#replicate(job, key, id, null, stage)
          if (!this.#replicasPending(job)) job.resolve()
          return
        }
      } else {
        def = req.shuffles.get(id) as ShuffleStageDef
        const outs = this.#outputs(def)
        missing = []
        for (let p = 0; p < outs.length; p++) if (outs[p] === null) missing.push(p)
        parents = def.parents
        if (missing.length === 0) {
          if (stage.status === 'running') { stage.status = 'done'; stage.ms = performance.now() - stage.startedAt }
          this.#replicate(job, key, id, def, stage)
          continue
        }
        if (stage.status === 'done' || stage.status === 'skipped') stage.status = 'pending'
      }
      if (!parents.every((p) => this.#complete(p))) continue
      const plan = def === null ? req.plan : def.plan
      const cacheKeys = cacheKeysOf(plan)
      let waiting = false
      let unlaunched = 0
      // Tasks reading a cached partition may queue behind the task running on the worker that
      // holds it (pipelining). Not with speculation: a queued task's wait would look like straggling.
      const pipelined = cacheKeys.length > 0 && this.#executor.queuesTasks === true && this.#options.speculation !== true
      for (const p of missing) {
        if (this.#isRunning(key, p)) continue
        unlaunched++
        let w = this.#freeWorker()
        if (w === null && (!pipelined || !this.#anyQueueSlot())) return
        if (cacheKeys.length > 0) {
          // Prefer a free worker that holds this partition's persisted input; else queue behind a
          // holder's running task (it would wait for that worker anyway; queued, it starts the
          // moment the worker is done, without a round trip to the driver); else wait a little.
          const holders = this.#holders(cacheKeys, p)
          if (holders.size > 0) {
            const local = this.#firstFree(holders) ?? (pipelined ? this.#queueSlot(holders, key, req.jobId) : null)
            const waitKey = `${key}:${p}`
            if (local !== null) w = local
            else if (w !== null) {
              const since = job.localityWait.get(waitKey) ?? performance.now()
              job.localityWait.set(waitKey, since)
              if (performance.now() - since < (this.#options.localityWaitMs ?? 3000)) {
                waiting = true
                continue
              }
            }
          }
        }
        if (w === null) continue
        this.#launch(job, key, id, def, p, w, stage, false)
        unlaunched--
      }
      this.#replicate(job, key, id, def, stage)
      if (waiting) setTimeout(() => this.#schedule(), Math.min(250, this.#options.localityWaitMs ?? 3000)).unref()
      if (this.#options.speculation === true) this.#speculate(job, key, id, def, stage, unlaunched)
    }
    req.onProgress?.(job.summary)
  }

  /**
   * Second copies of MEMORY_2 partitions this stage cached for the first time: the same task again
   * on a free worker that does not hold it (its result is a duplicate and is dropped; accumulators
   * and output commit count the first attempt only). Pending tasks of the stage go first.
   */
  #replicate(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, stage: StageSummary): void {
    let copies: Map<string, number> | null = null
    for (const [rk, r] of job.replicas) {
      if (r.stageKey !== key || r.on !== null) continue
      const others = [...this.#workers.keys()].filter((w) => w !== r.holder)
      if (others.length === 0) {
        job.replicas.delete(rk) // a single worker: nowhere to put a second copy
        continue
      }
      // Only the workers holding the fewest second copies of the holder's partitions: the tasks
      // a lost worker ran (its first copies, see #holders) then find their other copies spread
      // over the survivors instead of queueing behind one (that queue made a fault iteration ~2x long).
      copies ??= this.#secondCopies(job)
      const shared = others.map((w) => copies?.get(`${r.holder} ${w}`) ?? 0)
      const least = Math.min(...shared)
      const w = this.#freeWorker(new Set(others.filter((_, i) => shared[i] === least)))
      if (w === null) continue
      r.on = w.info.id
      copies.set(`${r.holder} ${r.on}`, least + 1)
      this.#launch(job, key, id, def, r.partition, w, stage, false, true)
    }
  }

  /**
   * Per `first second` worker pair: persisted partitions first cached on `first` whose second copy
   * is on (or going to) `second`. One pass over the cache locations.
   */
  #secondCopies(job: ActiveJob): Map<string, number> {
    const n = new Map<string, number>()
    const add = (pair: string): void => void n.set(pair, (n.get(pair) ?? 0) + 1)
    for (const holders of this.#cacheLocations.values()) {
      const [first, ...rest] = holders
      for (const second of rest) add(`${first} ${second}`)
    }
    for (const r of job.replicas.values()) if (r.on !== null) add(`${r.holder} ${r.on}`)
    return n
  }

  #replicasPending(job: ActiveJob): boolean {
    return job.replicas.size > 0
  }

  /**
   * Workers holding partition p of any of these persisted datasets, the one that cached it first
   * (its first copy) first: tasks go to the first copy's worker when it is free, so every worker
   * runs the partitions whose second copies #replicate spread over the others.
   */
  #holders(cacheKeys: readonly string[], p: number): Set<string> {
    const out = new Set<string>()
    for (const k of cacheKeys) for (const w of this.#cacheLocations.get(`${k}:${p}`) ?? []) if (this.#workers.has(w)) out.add(w)
    return out
  }

  /**
   * Backup attempts for tasks running much longer than the stage's median. Considered once
   * `speculationQuantile` of the stage is done, or earlier as soon as every task of the stage has
   * been launched (the tail): then a free slot has nothing better to do, so a backup costs no
   * other task its place.
   */
  #speculate(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, stage: StageSummary, unlaunched: number): void {
    const durations = job.durations.get(key)
    if (durations === undefined || durations.length === 0) return
    const total = id === null ? job.req.partitions.length : (def as ShuffleStageDef).partitions
    const done = id === null ? job.done.size : (this.#mapOutputs.get(id) ?? []).filter((o) => o !== null).length
    if (unlaunched > 0 && done < Math.ceil((this.#options.speculationQuantile ?? 0.75) * total)) return
    const sorted = [...durations].sort((a, b) => a - b)
    const median = sorted[sorted.length >> 1] as number
    const threshold = Math.max(20, (this.#options.speculationMultiplier ?? 1.5) * median)
    const now = performance.now()
    for (const t of [...this.#running.values()]) {
      if (t.stageKey !== key || t.jobId !== job.req.jobId || t.speculative || t.replica) continue
      if (now - t.startedAt <= threshold) continue
      let copies = 0
      for (const o of this.#running.values()) if (o.stageKey === key && o.partition === t.partition && o.jobId === t.jobId) copies++
      if (copies > 1) continue
      const others = new Set([...this.#workers.keys()].filter((w) => w !== t.workerId))
      const w = this.#freeWorker(others)
      if (w === null) return
      this.speculativeLaunches++
      this.#launch(job, key, id, def, t.partition, w, stage, true)
    }
  }

  #launch(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, p: number, w: { info: WorkerInfo; running: Set<string> }, stage: StageSummary, speculative: boolean, replica = false): void {
    const req = job.req
    const parents = def === null ? req.parents : def.parents
    const seqKey = `${id === null ? req.jobId : `s${id}`}:${p}`
    const attempt = this.#attemptSeq.get(seqKey) ?? 0
    this.#attemptSeq.set(seqKey, attempt + 1)
    const shuffleInputs: Record<number, readonly MapOutputLocation[]> = {}
    for (const sid of parents) shuffleInputs[sid] = this.#mapOutputs.get(sid) as MapOutputLocation[]
    const task: TaskDescription = {
      taskId: taskId(req.jobId, stage.stageId, p, attempt),
      jobId: req.jobId,
      stageId: stage.stageId,
      partition: id === null ? (req.partitions[0] === undefined ? p : p) : p,
      attempt,
      plan: def === null ? req.plan : def.plan,
      output: def === null ? req.output : def.output,
      shuffleInputs,
      memoryBudgetBytes: req.memoryBudgetBytes,
      scratchDir: req.scratchDir,
    }
    if (stage.status === 'pending') { stage.status = 'running'; stage.startedAt = performance.now() }
    stage.attempts++
    this.#running.set(task.taskId, { stageKey: key, partition: p, workerId: w.info.id, shuffleId: id, attempt, jobId: req.jobId, startedAt: performance.now(), speculative, replica })
    w.running.add(task.taskId)
    this.#executor.launch(w.info.id, task)
  }

  #onEvent(e: ExecutorEvent): void {
    switch (e.type) {
      case 'worker-up':
        this.#workers.set(e.worker.id, { info: e.worker, running: new Set() })
        break
      case 'worker-lost': {
        const w = this.#workers.get(e.workerId)
        this.#workers.delete(e.workerId)
        if (this.#job !== null) this.#job.summary.workersLost++
        if (w !== undefined) {
          for (const id of w.running) {
            const t = this.#running.get(id)
            // A lost second copy is given up (best effort), so the job never waits for it.
            if (t?.replica === true) this.#job?.replicas.delete(`${t.stageKey}:${t.partition}`)
            this.#running.delete(id)
          }
        }
        for (const holders of this.#cacheLocations.values()) holders.delete(e.workerId)
        // Outputs written by the lost worker die with it: recompute them from lineage.
        for (const outs of this.#mapOutputs.values()) {
          for (let i = 0; i < outs.length; i++) if (outs[i]?.workerId === e.workerId) outs[i] = null
        }
        if (this.#workers.size === 0) {
          // A replacement may be starting: give it time before declaring the job dead.
          setTimeout(() => {
            if (this.#workers.size === 0 && this.#job !== null) this.#fail(this.#job, new JobError(JobErrorCodes.NO_WORKERS, `Every worker was lost (last: ${e.reason})`))
          }, this.#options.workerWaitMs ?? 30_000).unref()
        }
        break
      }
      case 'task-succeeded':
      case 'task-failed': {
        const t = this.#running.get(e.taskId)
        this.#workers.get(e.workerId)?.running.delete(e.taskId)
        if (t === undefined) break
        this.#running.delete(e.taskId)
        const job = this.#job
        if (job === null || job.failed !== null) break
        const stage = job.stageSummaries.get(t.stageKey)
        if (stage === undefined) break
        if (t.jobId !== job.req.jobId) break
        if (t.replica) job.replicas.delete(`${t.stageKey}:${t.partition}`)
        if (e.type === 'task-succeeded') {
          const replicated = t.replica ? [] : this.#replicatedBlocks(job, t)
          let fresh = false
          for (const b of e.metrics.cachedBlocks ?? []) {
            let holders = this.#cacheLocations.get(b)
            if (holders === undefined) this.#cacheLocations.set(b, (holders = new Set()))
            // First copy of a MEMORY_2 partition (not a cache hit): it needs its second copy.
            if (holders.size === 0 && replicated.includes(b)) fresh = true
            holders.add(e.workerId)
          }
          if (fresh) job.replicas.set(`${t.stageKey}:${t.partition}`, { stageKey: t.stageKey, partition: t.partition, holder: e.workerId, on: null })
          if (!t.replica) {
            const list = job.durations.get(t.stageKey)
            if (list === undefined) job.durations.set(t.stageKey, [performance.now() - t.startedAt])
            else list.push(performance.now() - t.startedAt)
          }
          this.#succeeded(job, t, stage, e)
        }
        else if (!t.replica) this.#failed(job, t, stage, e)
      }
    }
    if (this.#running.size === 0) for (const r of this.#idleResolvers.splice(0)) r()
    this.#schedule()
  }

  /** `cacheKey:partition` of the MEMORY_2 partitions task t reads in place. */
  #replicatedBlocks(job: ActiveJob, t: RunningTask): string[] {
    const plan = t.shuffleId === null ? job.req.plan : job.req.shuffles.get(t.shuffleId)?.plan
    return plan === undefined ? [] : cacheKeysOf(plan, true).map((k) => `${k}:${t.partition}`)
  }

  #succeeded(job: ActiveJob, t: RunningTask, stage: StageSummary, e: Extract<ExecutorEvent, { type: 'task-succeeded' }>): void {
    addMetrics(stage, e.metrics)
    if (t.shuffleId !== null) {
      const outs = this.#mapOutputs.get(t.shuffleId)
      const worker = this.#workers.get(e.workerId)
      if (outs === undefined || worker === undefined || e.result.kind !== 'map-status') return
      if (outs[t.partition] === null) {
        this.#options.onTaskCommitted?.(e.metrics)
        outs[t.partition] = { mapId: t.partition, attempt: t.attempt, workerId: e.workerId, address: worker.info.address, sizes: e.result.sizes }
        stage.tasksDone = outs.filter((o) => o !== null).length
      }
      return
    }
    const duplicate = job.done.has(t.partition)
    job.done.add(t.partition)
    if (!duplicate) this.#options.onTaskCommitted?.(e.metrics)
    if (!duplicate) stage.tasksDone++
    try {
      job.req.onResult(t.partition, e.result, duplicate)
    } catch (err) {
      this.#fail(job, err instanceof JobError ? err : new JobError(JobErrorCodes.TASK_FAILED, `Cannot accept result of partition ${t.partition}: ${(err as Error).message}`, { cause: err }))
      return
    }
    if (job.done.size === job.req.partitions.length) {
      stage.status = 'done'
      stage.ms = performance.now() - stage.startedAt
      if (!this.#replicasPending(job)) job.resolve()
    }
  }

  #failed(job: ActiveJob, t: RunningTask, stage: StageSummary, e: Extract<ExecutorEvent, { type: 'task-failed' }>): void {
    const f = e.failure
    if (f.fetchFailed !== undefined) {
      // A lost shuffle block: forget that map output so its stage recomputes it; not an attempt.
      const outs = this.#mapOutputs.get(f.fetchFailed.shuffleId)
      if (outs !== undefined) outs[f.fetchFailed.mapId] = null
      return
    }
    stage.failedAttempts++
    const key = `${t.stageKey}:${t.partition}`
    const n = (job.failures.get(key) ?? 0) + 1
    job.failures.set(key, n)
    if (n >= this.#options.maxAttempts) {
      const err = new JobError(
        JobErrorCodes.TASK_FAILED,
        `Job ${job.req.jobId} failed: stage ${stage.stageId} (${stage.name}) partition ${t.partition} failed ${n} times; last error: ${f.message}`,
        { cause: Object.assign(new Error(f.message), { stack: f.stack, code: f.code }) },
      )
      this.#fail(job, err)
    }
  }
}
