// The DAG scheduler shared by local and cluster mode: runs a job's stages over an Executor.
// Map stages (one per shuffle) run before the stages that read them; a map stage whose outputs
// all exist (from an earlier job) is skipped. Each partition is a task; a task that fails by error
// is retried up to `maxAttempts` times, then the job fails naming the stage, partition and error.
// A lost worker's running tasks are rerun elsewhere (each loss counts as an attempt of the tasks it
// ran, so a record that kills its process fails the job instead of looping) and its map outputs
// are forgotten, so the stages that wrote them recompute just those partitions from lineage.
// While a job runs the scheduler holds the event loop open, so a job can only end by its promise.
import { JobError, JobErrorCodes, type JobErrorCode } from './errors.js'
import type { Executor, ExecutorEvent } from './executor.js'
import { launchOn, newStageRound, placementOrder, placeTask, PlacementReasons, type Launch } from './placement.js'
import { recordCachedBlocks, replicate } from './replication.js'
import { stageOrder, type ActiveJob, type JobRequest, type RunningTask, type ShuffleStageDef, type WorkerState } from './scheduler-state.js'
import { speculate } from './speculation.js'
import { pruneForPartition } from './task-pruning.js'
import { addMetrics, newStageSummary, type JobSummary, type StageSummary } from './summary.js'
import { taskId, type MapOutputLocation, type TaskDescription, type TaskMetrics } from './task-spec.js'

export type { JobRequest, ShuffleStageDef } from './scheduler-state.js'

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
  /** A task attempt running longer than this fails as an attempt and is aborted; 0 or absent: no limit (ms). */
  readonly taskTimeoutMs?: number
  /** Called once per partition with the metrics of its first successful attempt (accumulators). */
  readonly onTaskCommitted?: (metrics: TaskMetrics) => void
}

export class Scheduler {
  readonly #executor: Executor
  readonly #options: SchedulerOptions
  readonly #workers = new Map<string, WorkerState>()
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
  #noWorkersTimer: NodeJS.Timeout | undefined

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
    const order = stageOrder(req)
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
    const job: ActiveJob = { req, summary, order, done: new Set(), scanFrom: 0, failures: new Map(), stageSummaries, failed: null, resolve: () => {}, durations: new Map(), localityWait: new Map(), replicas: new Map() }
    const finished = new Promise<void>((resolve) => { job.resolve = resolve })
    this.#job = job
    this.#schedule()
    // Stragglers send no events while they straggle: look at the clock now and then.
    const ticker = this.#options.speculation === true ? setInterval(() => this.#schedule(), 100) : undefined
    // A ref'd handle for the job's life: idle worker processes do not hold the loop (local-executor),
    // so a pending job must, or a process could exit 0 with the job unfinished.
    const hold = setInterval(() => {}, 2 ** 30)
    const timeout = this.#options.taskTimeoutMs ?? 0
    const timer = timeout > 0 ? setInterval(() => this.#timeOut(job, timeout), Math.max(10, Math.min(1000, timeout / 4))) : undefined
    try {
      await finished
    } finally {
      if (ticker !== undefined) clearInterval(ticker)
      clearInterval(hold)
      if (timer !== undefined) clearInterval(timer)
      clearTimeout(this.#noWorkersTimer)
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

  #isRunning(stageKey: string, partition: number): boolean {
    for (const t of this.#running.values()) if (t.stageKey === stageKey && t.partition === partition) return true
    return false
  }

  /**
   * One scheduling round: for each stage in order whose parents are complete, the partitions it
   * still misses get their placement (placement.ts) and the launches are applied; then MEMORY_2
   * second copies and speculative backups. A round ends early when no worker has a slot.
   */
  #schedule(): void {
    const job = this.#job
    if (job === null || job.failed !== null) return
    const req = job.req
    // With no worker left, wait for a replacement; the worker-lost handler fails the job if none comes.
    if (this.#workers.size === 0) return
    for (const id of job.order) {
      const key = id === null ? 'result' : `s${id}`
      const stage = job.stageSummaries.get(key) as StageSummary
      const def = id === null ? null : (req.shuffles.get(id) as ShuffleStageDef)
      const missing = def === null ? this.#resultMissing(job) : this.#mapMissing(def, stage)
      if (missing === null) {
        this.#replicate(job, key, id, def, stage)
        if (def !== null) continue
        if (!this.#replicasPending(job)) job.resolve()
        return
      }
      if (!(def === null ? req.parents : def.parents).every((p) => this.#complete(p))) continue
      const placed = this.#placeStage(job, key, id, def, stage, missing)
      if (placed === null) return
      this.#replicate(job, key, id, def, stage)
      if (placed.waiting) setTimeout(() => this.#schedule(), Math.min(250, this.#options.localityWaitMs ?? 3000)).unref()
      if (this.#options.speculation === true) this.#speculate(job, key, id, def, stage, placed.unlaunched)
    }
    req.onProgress?.(job.summary)
  }

  /**
   * The result stage's partitions not yet done, or null when every one is. Scanned from the first
   * partition not yet done, and lazily: placement stops at the first one no worker can take, so an
   * event costs O(slots), not O(partitions).
   */
  #resultMissing(job: ActiveJob): Iterable<number> | null {
    const parts = job.req.partitions
    while (job.scanFrom < parts.length && job.done.has(parts[job.scanFrom] as number)) job.scanFrom++
    return job.scanFrom === parts.length ? null : notDone(parts, job.scanFrom, job.done)
  }

  /** A map stage's partitions with no output (never written, or lost), or null when it is complete. */
  #mapMissing(def: ShuffleStageDef, stage: StageSummary): number[] | null {
    const outs = this.#outputs(def)
    const lost: number[] = []
    for (let p = 0; p < outs.length; p++) if (outs[p] === null) lost.push(p)
    if (lost.length === 0) {
      if (stage.status === 'running') { stage.status = 'done'; stage.ms = performance.now() - stage.startedAt }
      return null
    }
    if (stage.status === 'done' || stage.status === 'skipped') stage.status = 'pending'
    return lost
  }

  /**
   * Places the missing partitions of a ready stage that are not running and applies each launch;
   * null when no worker has a slot (the round stops). `waiting`: some partition waits for the
   * worker caching its input; `unlaunched`: partitions left without a worker (for speculation).
   */
  #placeStage(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, stage: StageSummary, missing: Iterable<number>): { waiting: boolean; unlaunched: number } | null {
    const req = job.req
    const round = newStageRound(
      { workers: this.#workers, running: this.#running, cacheLocations: this.#cacheLocations },
      {
        stageKey: key,
        jobId: req.jobId,
        plan: def === null ? req.plan : def.plan,
        total: def === null ? req.partitions.length : def.partitions,
        queuesTasks: this.#executor.queuesTasks === true,
        speculation: this.#options.speculation === true,
      },
    )
    let waiting = false
    let unlaunched = 0
    for (const p of placementOrder(round, missing)) {
      if (this.#isRunning(key, p)) continue
      unlaunched++
      const d = placeTask(round, p)
      if (d.kind === 'no-slot') return null
      if (d.kind === 'none') continue
      if (d.kind === 'locality-wait' && this.#localityWaiting(job, `${key}:${p}`)) {
        waiting = true
        continue
      }
      this.#launch(job, key, id, def, p, d.kind === 'launch' ? d : launchOn(d.worker, PlacementReasons.FREE), stage)
      unlaunched--
    }
    return { waiting, unlaunched }
  }

  /** Whether the task at `waitKey` (stage:partition) still waits for a holder of its input (localityWaitMs from its first wait). */
  #localityWaiting(job: ActiveJob, waitKey: string): boolean {
    const since = job.localityWait.get(waitKey) ?? performance.now()
    job.localityWait.set(waitKey, since)
    return performance.now() - since < (this.#options.localityWaitMs ?? 3000)
  }

  /** Fails (as an attempt) and aborts every task of `job` running longer than `timeoutMs`. */
  #timeOut(job: ActiveJob, timeoutMs: number): void {
    const now = performance.now()
    let any = false
    for (const [tid, t] of this.#running) {
      if (t.jobId !== job.req.jobId || t.replica || now - t.startedAt <= timeoutMs) continue
      // Forgotten here, so a late report is dropped; the slot stays taken until the worker reports
      // or is lost (abort kills a local worker, which frees it).
      this.#running.delete(tid)
      this.#executor.abort?.(tid)
      this.#countFailure(job, t, `timed out after ${timeoutMs} ms (taskTimeoutMs)`)
      any = true
    }
    if (any) this.#schedule()
  }

  #replicasPending(job: ActiveJob): boolean {
    return job.replicas.size > 0
  }

  /**
   * Second copies of MEMORY_2 partitions this stage cached for the first time (see replication.ts).
   * Called after the stage's pending tasks are placed, so those go first.
   */
  #replicate(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, stage: StageSummary): void {
    replicate(job.replicas, key, this.#workers, this.#cacheLocations, (p, placement) => this.#launch(job, key, id, def, p, placement, stage))
  }

  /** Backup attempts of this stage's stragglers (see speculation.ts). */
  #speculate(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, stage: StageSummary, unlaunched: number): void {
    const progress = {
      key,
      jobId: job.req.jobId,
      durations: job.durations.get(key),
      total: id === null ? job.req.partitions.length : (def as ShuffleStageDef).partitions,
      done: () => (id === null ? job.done.size : (this.#mapOutputs.get(id) ?? []).filter((o) => o !== null).length),
      unlaunched,
    }
    speculate(progress, this.#running, this.#workers, this.#options, (p, placement) => this.#launch(job, key, id, def, p, placement, stage))
  }

  /** Applies a placement: partition p's task attempt goes to `placement.worker`. */
  #launch(job: ActiveJob, key: string, id: number | null, def: ShuffleStageDef | null, p: number, placement: Launch, stage: StageSummary): void {
    const req = job.req
    const w = placement.worker
    const speculative = placement.reason === PlacementReasons.SPECULATIVE
    const replica = placement.reason === PlacementReasons.REPLICA
    if (speculative) this.speculativeLaunches++
    const parents = def === null ? req.parents : def.parents
    const seqKey = `${id === null ? req.jobId : `s${id}`}:${p}`
    const attempt = this.#attemptSeq.get(seqKey) ?? 0
    this.#attemptSeq.set(seqKey, attempt + 1)
    const all: Record<number, readonly MapOutputLocation[]> = {}
    for (const sid of parents) all[sid] = this.#mapOutputs.get(sid) as MapOutputLocation[]
    // Only the slices and block sizes partition p reads: a task's size must not grow with the stage's.
    const { plan, shuffleInputs } = pruneForPartition(def === null ? req.plan : def.plan, p, all)
    const task: TaskDescription = {
      taskId: taskId(req.jobId, stage.stageId, p, attempt),
      jobId: req.jobId,
      stageId: stage.stageId,
      partition: p,
      attempt,
      plan,
      output: def === null ? req.output : def.output,
      shuffleInputs: shuffleInputs as Record<number, readonly MapOutputLocation[]>,
      memoryBudgetBytes: req.memoryBudgetBytes,
      scratchDir: req.scratchDir,
      ...(req.fused === false ? { fused: false } : {}),
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
            // The loss counts as an attempt: the task may be what killed its process.
            if (t !== undefined && !t.replica && this.#job !== null && t.jobId === this.#job.req.jobId) this.#countFailure(this.#job, t, `its worker was lost (${e.reason})`)
          }
        }
        for (const holders of this.#cacheLocations.values()) holders.delete(e.workerId)
        // Outputs written by the lost worker die with it: recompute them from lineage.
        for (const outs of this.#mapOutputs.values()) {
          for (let i = 0; i < outs.length; i++) if (outs[i]?.workerId === e.workerId) outs[i] = null
        }
        if (this.#workers.size === 0) {
          // A replacement may be starting: give it time before declaring the job dead.
          // Ref'd while a job waits for it: the job must end by this timer if no worker comes.
          clearTimeout(this.#noWorkersTimer)
          this.#noWorkersTimer = setTimeout(() => {
            if (this.#workers.size === 0 && this.#job !== null) this.#fail(this.#job, new JobError(JobErrorCodes.NO_WORKERS, `Every worker was lost (last: ${e.reason})`))
          }, this.#options.workerWaitMs ?? 30_000)
          if (this.#job === null) this.#noWorkersTimer.unref()
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
          recordCachedBlocks(this.#cacheLocations, job, t, e.workerId, e.metrics.cachedBlocks)
          if (!t.replica) {
            const list = job.durations.get(t.stageKey)
            if (list === undefined) job.durations.set(t.stageKey, [performance.now() - t.startedAt])
            else list.push(performance.now() - t.startedAt)
          }
          this.#succeeded(job, t, stage, e)
        }
        else if (!t.replica) this.#failed(job, t, e)
      }
    }
    if (this.#running.size === 0) for (const r of this.#idleResolvers.splice(0)) r()
    this.#schedule()
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

  #failed(job: ActiveJob, t: RunningTask, e: Extract<ExecutorEvent, { type: 'task-failed' }>): void {
    const f = e.failure
    if (f.fetchFailed !== undefined) {
      // A lost shuffle block: forget that map output so its stage recomputes it; not an attempt.
      const outs = this.#mapOutputs.get(f.fetchFailed.shuffleId)
      if (outs !== undefined) outs[f.fetchFailed.mapId] = null
      return
    }
    // A value no path can carry, or a result over the driver's limit, fails the same way on every
    // attempt: no retry, and the job fails with that code.
    const final = f.code === JobErrorCodes.UNSUPPORTED_VALUE || f.code === JobErrorCodes.RESULT_TOO_LARGE ? f.code : undefined
    this.#countFailure(job, t, f.message, Object.assign(new Error(f.message), { stack: f.stack, code: f.code }), final)
  }

  /** One failed attempt of `t`; the last allowed one fails the job naming stage, partition and error. */
  #countFailure(job: ActiveJob, t: RunningTask, message: string, cause?: Error, final?: JobErrorCode): void {
    const stage = job.stageSummaries.get(t.stageKey)
    if (stage === undefined || job.failed !== null) return
    stage.failedAttempts++
    const key = `${t.stageKey}:${t.partition}`
    const n = (job.failures.get(key) ?? 0) + 1
    job.failures.set(key, n)
    if (n >= this.#options.maxAttempts || final !== undefined) {
      const err = new JobError(
        final ?? JobErrorCodes.TASK_FAILED,
        `Job ${job.req.jobId} failed: stage ${stage.stageId} (${stage.name}) partition ${t.partition} failed ${n} times; last error: ${message}`,
        { cause: cause ?? new Error(message) },
      )
      this.#fail(job, err)
    }
  }
}

/** The partitions of `parts` from index `from` on that are not in `done`, in order. */
function* notDone(parts: readonly number[], from: number, done: ReadonlySet<number>): Generator<number> {
  for (let i = from; i < parts.length; i++) {
    const p = parts[i] as number
    if (!done.has(p)) yield p
  }
}
