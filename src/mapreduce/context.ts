// The Context: entry point of the engine. Makes datasets from sources, owns the executor (local
// worker processes by default) and the scheduler, runs one job at a time and keeps a JSON summary
// of every job for UIs.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Dataset, type Engine } from './dataset.js'
import { JobError, JobErrorCodes } from './errors.js'
import type { Executor } from './executor.js'
import { buildNode, PlanBuilder, prepareLineage, type LNode } from './lineage.js'
import { LocalExecutor, workerArgs } from './local-executor.js'
import { claimDir, ownerTag, sweepOrphans } from './leftovers.js'
import { ClusterExecutor } from './cluster/cluster-executor.js'
import { resolveOptions, type ContextOptions, type ResolvedOptions } from './options.js'
import { OutputCommitter } from './output-commit.js'
import { createProgress } from './progress.js'
import { Scheduler } from './scheduler.js'
import type { JobSummary } from './summary.js'
import type { CsvSpec, PlanNode, StorageLevel, TaskMetrics, TaskOutput, TaskResult, TextSplit } from './task-spec.js'
import { Accumulator, Broadcast } from './shared-vars.js'
import { checkRecords } from './record-values.js'
import { expandInputs, parseCsvLine, planBalancedSplits, planSplits } from './text-input.js'

export interface TextFileOptions {
  /** At least this many partitions (splits get smaller). */
  minPartitions?: number
}

export interface CsvOptions<T> extends TextFileOptions {
  /** First line of each file names the columns (records are objects). Default true. */
  header?: boolean
  delimiter?: string
  /** Column types: by name (with header) or by position; default string. */
  types?: CsvSpec['types']
  /** Only for typing: `csv<Row>(...)`. */
  readonly _row?: T
}

function firstLine(path: string): string {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(Math.min(65536, statSync(path).size))
    const n = readSync(fd, buf, 0, buf.length, 0)
    const text = buf.subarray(0, n).toString('utf8')
    const nl = text.indexOf('\n')
    return (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '')
  } finally {
    closeSync(fd)
  }
}

export class Context implements Engine {
  readonly options: ResolvedOptions
  readonly #executor: Executor
  readonly #scheduler: Scheduler
  readonly #scratch: string
  readonly #jobs: JobSummary[] = []
  readonly #prepared = new Set<number>()
  #ids = 0
  #shuffleIds = 0
  #jobSeq = 0
  #queue: Promise<unknown> = Promise.resolve()
  #stopped = false
  /**
   * Prefix of this context's cache keys, job ids and shared-variable ids. Workers of a cluster
   * serve many drivers, so two contexts must never draw the same one: 64 random bits.
   */
  readonly #runId = randomBytes(8).toString('hex')
  readonly #accumulators = new Map<string, Accumulator>()
  #sharedSeq = 0

  constructor(options: ContextOptions = {}) {
    this.options = resolveOptions(options)
    this.#scratch = mkdtempSync(join(this.options.scratchDir, `switchyard-mr-${ownerTag()}`))
    // A driver killed before stop() leaves its scratch directory: the next one on this host removes it.
    claimDir(this.#scratch)
    sweepOrphans(this.options.scratchDir, 'switchyard-mr-')
    if (this.options.executor !== undefined) this.#executor = this.options.executor
    else if (this.options.master !== '') {
      const cluster = new ClusterExecutor({ master: this.options.master, secret: this.options.secret, app: 'switchyard job' })
      cluster.attachJobs(() => this.jobs())
      this.#executor = cluster
    } else this.#executor = new LocalExecutor({ workers: this.options.workers, execArgv: workerArgs(this.options.memoryPerWorkerMb, this.options.workerExecArgv) })
    this.#executor.claimCacheNamespace?.(this.#runId)
    this.#scheduler = new Scheduler(this.#executor, {
      maxAttempts: this.options.maxTaskAttempts,
      speculation: this.options.speculation,
      speculationQuantile: this.options.speculationQuantile,
      speculationMultiplier: this.options.speculationMultiplier,
      localityWaitMs: this.options.localityWaitMs,
      taskTimeoutMs: this.options.taskTimeoutMs,
      onTaskCommitted: (m) => this.#applyAccumulators(m),
    })
  }

  get defaultPartitions(): number {
    return this.options.defaultPartitions
  }

  get cartesianMaxPairs(): number {
    return this.options.cartesianMaxPairs
  }

  /** The executor (LocalExecutor exposes `workerPids`). */
  get executor(): Executor {
    return this.#executor
  }

  nextId(): number {
    return ++this.#ids
  }

  nextShuffleId(): number {
    return ++this.#shuffleIds
  }

  /** Summaries of every job run so far (plain JSON data). */
  jobs(): JobSummary[] {
    return JSON.parse(JSON.stringify(this.#jobs)) as JobSummary[]
  }

  #source<T>(name: string, partitions: number, build: (id: number) => PlanNode): Dataset<T> {
    const id = this.nextId()
    const node: LNode = { id, name, partitions, partitioner: undefined, parents: [], build: () => build(id) }
    return new Dataset<T>(this, node)
  }

  #splits(paths: string | readonly string[], options: TextFileOptions): TextSplit[][] {
    const files = expandInputs(paths)
    let splitBytes = this.options.splitBytes
    if (options.minPartitions !== undefined) {
      const total = files.reduce((a, f) => a + statSync(f).size, 0)
      splitBytes = Math.max(1, Math.min(splitBytes, Math.ceil(total / options.minPartitions)))
      return planSplits(files, splitBytes)
    }
    return planBalancedSplits(files, splitBytes, this.options.workers)
  }

  /** Lines of text files: paths, globs, directories; `.gz` files are decompressed (one split each). */
  textFile(paths: string | readonly string[], options: TextFileOptions = {}): Dataset<string> {
    const splits = this.#splits(paths, options)
    return this.#source('textFile', splits.length, (id) => ({ id, partitions: splits.length, op: 'text', splits, format: 'lines' }))
  }

  /** One JSON document per line (empty lines skipped). */
  jsonLines<T = unknown>(paths: string | readonly string[], options: TextFileOptions = {}): Dataset<T> {
    const splits = this.#splits(paths, options)
    return this.#source('jsonLines', splits.length, (id) => ({ id, partitions: splits.length, op: 'text', splits, format: 'json' }))
  }

  /** CSV records: objects keyed by the header (default), or arrays; fields typed by `types`. */
  csv<T = Record<string, unknown>>(paths: string | readonly string[], options: CsvOptions<T> = {}): Dataset<T> {
    const splits = this.#splits(paths, options)
    const header = options.header ?? true
    const delimiter = options.delimiter ?? ','
    const first = splits[0]?.[0]
    const columns = header && first !== undefined ? parseCsvLine(firstLine(first.path), delimiter) : undefined
    const csv = { header, delimiter, types: options.types ?? {}, ...(columns === undefined ? {} : { columns }) }
    return this.#source('csv', splits.length, (id) => ({ id, partitions: splits.length, op: 'text', splits, format: 'csv', csv }))
  }

  /** An in-memory array cut into `slices` partitions (default: defaultPartitions). */
  parallelize<T>(data: readonly T[], slices: number = this.options.defaultPartitions): Dataset<T> {
    checkRecords(data, 'parallelize')
    const n = Math.max(1, Math.floor(slices))
    const parts: T[][] = []
    for (let i = 0; i < n; i++) parts.push(data.slice(Math.floor((i * data.length) / n), Math.floor(((i + 1) * data.length) / n)))
    return this.#source('parallelize', n, (id) => ({ id, partitions: n, op: 'parallelize', slices: parts }))
  }

  /** Numbers start, start+step, ... below end (range(n) = 0..n-1). */
  range(start: number, end?: number, step = 1, slices: number = this.options.defaultPartitions): Dataset<number> {
    const [s, e] = end === undefined ? [0, start] : [start, end]
    if (step <= 0 || !Number.isFinite(step)) throw new JobError(JobErrorCodes.INVALID_ARGUMENT, `range: step must be positive, got ${step}`)
    const n = Math.max(1, Math.floor(slices))
    return this.#source('range', n, (id) => ({ id, partitions: n, op: 'range', start: s, end: e, step }))
  }

  async #runJob(
    node: LNode,
    output: TaskOutput,
    action: string,
    partitions: readonly number[] | undefined,
    onResult: (partition: number, result: TaskResult, duplicate: boolean) => void,
    jobId: string,
  ): Promise<void> {
    if (this.#stopped) throw new JobError(JobErrorCodes.CANCELLED, 'The Context was stopped')
    await prepareLineage(node, this.#prepared)
    const run = async (): Promise<void> => {
      const b = new PlanBuilder()
      const plan = buildNode(node, b)
      const progress = createProgress(this.options.progress)
      const parts = partitions ?? Array.from({ length: node.partitions }, (_, i) => i)
      const budget = Math.floor(this.options.memoryPerWorkerMb * 2 ** 20 * this.options.spillFraction)
      let summary: JobSummary | null = null
      try {
        await this.#scheduler.runJob({
          jobId,
          action,
          name: `${node.name} → ${action}`,
          plan,
          partitions: parts,
          output,
          parents: b.parents,
          shuffles: b.shuffles,
          scratchDir: this.#scratch,
          memoryBudgetBytes: budget,
          fused: this.options.fused,
          onResult,
          onProgress: (job) => {
            if (summary === null) { summary = job; this.#jobs.push(job) }
            progress?.update(job)
          },
        })
      } finally {
        if (summary !== null) progress?.end(summary)
      }
    }
    const p = this.#queue.then(run, run)
    this.#queue = p.catch(() => {})
    await p
  }

  #newJobId(): string {
    return `${this.#runId}-${++this.#jobSeq}`
  }

  async run(node: LNode, output: TaskOutput, action: string, partitions?: readonly number[]): Promise<TaskResult[]> {
    const parts = partitions ?? Array.from({ length: node.partitions }, (_, i) => i)
    const results = new Map<number, TaskResult>()
    // collect()/take() bring records to this process: keep their total under maxResultMb.
    const limit = this.options.maxResultMb * 2 ** 20
    const guarded = output.kind === 'collect' || output.kind === 'take' ? { ...output, maxResultBytes: limit } : output
    let total = 0
    await this.#runJob(node, guarded, action, parts, (p, r, dup) => {
      if (dup) return
      if (r.kind === 'value' && r.bytes !== undefined) {
        total += r.bytes
        if (total > limit) throw new JobError(JobErrorCodes.RESULT_TOO_LARGE, `${action}: the results of ${results.size + 1} partitions hold about ${(total / 2 ** 20).toFixed(1)} MiB, over maxResultMb (${this.options.maxResultMb} MiB); write the result with saveAsTextFile, reduce it first, or raise maxResultMb on purpose`)
      }
      results.set(p, r)
    }, this.#newJobId())
    return parts.map((p) => results.get(p) as TaskResult)
  }

  async save(node: LNode, dir: string, format: 'text' | 'json'): Promise<void> {
    const jobId = this.#newJobId()
    const committer = new OutputCommitter(dir, jobId)
    try {
      await this.#runJob(node, { kind: 'save', format, dir: committer.tempDir }, format === 'text' ? 'saveAsTextFile' : 'saveAsJsonLines', undefined, (p, r) => {
        if (r.kind === 'saved') committer.commitTask(p, r.file)
      }, jobId)
      committer.commitJob()
    } catch (err) {
      committer.abortJob()
      throw err
    }
  }

  // ---- shared variables and persistence ----

  /** A read-only value shipped once per worker: pass it in `env` and read `.value` in the function. */
  broadcast<T>(value: T): Broadcast<T> {
    return new Broadcast(`b${this.#runId}-${++this.#sharedSeq}`, join(this.#scratch, 'broadcast'), value)
  }

  /** A numeric sum tasks add to (`env.acc.add(n)`); counted once per successful task. */
  accumulator(initial = 0): Accumulator {
    const acc = new Accumulator(`a${this.#runId}-${++this.#sharedSeq}`, initial)
    this.#accumulators.set(acc.id, acc)
    return acc
  }

  #applyAccumulators(m: TaskMetrics): void {
    if (m.accumulators === undefined) return
    for (const [id, n] of Object.entries(m.accumulators)) this.#accumulators.get(id)?.add(n)
  }

  persist(node: LNode, level: StorageLevel | undefined): void {
    if (level === undefined) {
      if (node.storage !== undefined) {
        this.#scheduler.forgetCached(node.storage.cacheKey)
        this.#executor.dropCached?.(node.storage.cacheKey)
      }
      node.storage = undefined
      return
    }
    const budgetBytes = Math.floor(this.options.memoryPerWorkerMb * 2 ** 20 * this.options.storageFraction)
    node.storage = { level, cacheKey: `${this.#runId}-${node.id}`, budgetBytes }
  }

  async checkpoint(node: LNode): Promise<void> {
    if (node.checkpointFiles !== undefined) return
    const base = this.options.checkpointDir === '' ? join(this.#scratch, 'checkpoints') : this.options.checkpointDir
    const dir = join(base, `${this.#runId}-${node.id}`)
    const results = await this.run(node, { kind: 'checkpoint', dir }, 'checkpoint')
    node.checkpointFiles = results.map((r) => (r.kind === 'saved' ? r.file : ''))
  }

  /** Stops the workers, frees this context's persisted partitions and deletes shuffle and spill files. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.#queue.catch(() => {})
    await this.#executor.close()
    rmSync(this.#scratch, { recursive: true, force: true })
  }
}
