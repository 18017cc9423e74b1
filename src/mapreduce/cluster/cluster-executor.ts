// The driver's side of cluster mode: implements the engine's Executor over one authenticated
// connection to the coordinator, so the same Scheduler runs local and cluster jobs. Task
// descriptions are shipped as plain data; module files named by FnSpecs are uploaded once,
// content-addressed (sha256), and workers fetch them once into their cache.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Executor, ExecutorEvent, ExecutorListener, WorkerInfo } from '../executor.js'
import type { TaskDescription, TaskFailure, TaskMetrics, TaskResult } from '../task-spec.js'
import { sha256Hex } from './blob-store.js'
import type { Connection, Message } from './connection.js'
import type { ShippedModule, WireTask } from './engine-runner.js'
import { ClusterError, ClusterErrorCodes } from './errors.js'
import { openConnection } from './handshake.js'
import { resolveCommon, type CommonClusterOptions, type ResolvedCommon } from './options.js'

export interface ClusterExecutorOptions extends CommonClusterOptions {
  /** `sy://host:port` */
  master: string
  /** Name shown in the coordinator's UI. */
  app?: string
  /** How long start() waits for a first worker. */
  waitForWorkersMs?: number
  /** start() waits until this many workers are alive (default 1). */
  minWorkers?: number
}

export function parseMaster(master: string): { host: string; port: number } {
  const m = /^sy:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(master)
  if (m === null) throw new ClusterError(ClusterErrorCodes.BAD_MASTER_URL, `Invalid master URL "${master}": expected sy://host:port`)
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

interface WireWorker {
  id: string
  cores: number
  host: string
  blockPort: number
  state: string
}

function toInfo(w: WireWorker): WorkerInfo {
  const host = w.host.includes(':') ? `[${w.host}]` : w.host
  return { id: w.id, slots: Math.max(1, w.cores), address: `${host}:${w.blockPort}` }
}

/** Collects module URLs of FnSpecs and broadcast files anywhere in a task. */
function moduleUrls(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) moduleUrls(v, out)
    return
  }
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return
  const obj = value as Record<string, unknown>
  if (obj.kind === 'module' && typeof obj.module === 'string') out.add(obj.module)
  // Broadcast references (shared-vars.ts) name a file: shipped like a module, once per worker.
  if (obj.__syBroadcast === 1 && typeof obj.path === 'string') out.add(pathToFileURL(obj.path).href)
  for (const v of Object.values(obj)) moduleUrls(v, out)
}

export interface TaskRecord {
  taskId: string
  jobId: string
  stageId: number
  partition: number
  attempt: number
  workerId: string
  /** 'map' writes shuffle output; 'result' computes an action's partition. */
  kind: 'map' | 'result'
  state: 'running' | 'succeeded' | 'failed' | 'lost'
  startedAt: number
  ms: number | null
}

const MAX_TASK_RECORDS = 5000

export class ClusterExecutor implements Executor {
  readonly kind = 'cluster'
  /** Workers run one task per process and queue the rest (engine-runner.ts). */
  readonly queuesTasks = true
  readonly options: ResolvedCommon
  readonly #o: ClusterExecutorOptions
  /** Random per executor: separates this driver's shuffle files from other drivers' on workers. */
  readonly session = randomBytes(8).toString('hex')
  #conn: Connection | undefined
  #listener: ExecutorListener = () => {}
  readonly #workers = new Map<string, WorkerInfo>()
  readonly #taskWorker = new Map<string, string>()
  readonly #modules = new Map<string, Promise<ShippedModule>>()
  readonly #queue: ExecutorEvent[] = []
  #flushing = false
  #closed = false
  lostConnection: Error | undefined
  modulesUploaded = 0
  /** Task failures that were lost shuffle blocks (recovered by recomputation). */
  fetchFailures = 0
  /** Recent tasks for the UI (bounded). */
  readonly #tasks = new Map<string, TaskRecord>()
  #jobsProvider: (() => unknown) | undefined
  #statusTimer: NodeJS.Timeout | undefined
  #dirty = false
  readonly #cacheNamespaces = new Set<string>()

  constructor(options: ClusterExecutorOptions) {
    this.#o = options
    this.options = resolveCommon(options)
    parseMaster(options.master)
  }

  /** Workers known alive now. */
  get workers(): readonly WorkerInfo[] {
    return [...this.#workers.values()]
  }

  async start(listener: ExecutorListener): Promise<readonly WorkerInfo[]> {
    this.#listener = listener
    const { host, port } = parseMaster(this.#o.master)
    const conn = await openConnection(host, port, 'driver', { ...this.options, timeoutMs: this.options.handshakeTimeoutMs })
    this.#conn = conn
    conn.handle('worker-added', (m) => {
      const info = toInfo(m.worker as WireWorker)
      this.#workers.set(info.id, info)
      this.#emit({ type: 'worker-up', worker: info })
    })
    conn.handle('worker-lost', (m) => {
      const w = m.worker as WireWorker
      if (!this.#workers.delete(w.id)) return
      for (const [task, wid] of this.#taskWorker) {
        if (wid !== w.id) continue
        this.#taskWorker.delete(task)
        this.#finish(task, 'lost')
      }
      this.#emit({ type: 'worker-lost', workerId: w.id, reason: `worker ${w.id} lost: ${String(m.reason)}` })
    })
    conn.handle('task-event', (m) => this.#onTaskEvent(m))
    conn.onClose((err) => {
      if (this.#closed) return
      // Coordinator gone: nothing can run any more. Running and later launches fail at once with
      // ERR_CLUSTER_COORDINATOR_LOST, so the scheduler exhausts its attempts and fails the job
      // quickly (rather than waiting for replacement workers that cannot arrive).
      this.lostConnection = new ClusterError(ClusterErrorCodes.COORDINATOR_LOST, `Lost the coordinator at ${this.#o.master}${err ? `: ${err.message}` : ''}`)
      for (const [task, wid] of [...this.#taskWorker]) this.#failLaunch(task, wid)
    })
    conn.start()
    const hello = await conn.request({ t: 'hello-driver', app: this.#o.app ?? 'switchyard job', session: this.session }, this.options.requestTimeoutMs)
    for (const w of hello.workers as WireWorker[]) this.#workers.set(w.id, toInfo(w))
    for (const prefix of this.#cacheNamespaces) conn.send({ t: 'cache-namespace', prefix })
    const min = this.#o.minWorkers ?? 1
    const deadline = Date.now() + (this.#o.waitForWorkersMs ?? 30_000)
    while (this.#workers.size < min) {
      if (conn.closed) throw this.lostConnection ?? new ClusterError(ClusterErrorCodes.COORDINATOR_LOST, 'Lost the coordinator')
      if (Date.now() > deadline) throw new ClusterError(ClusterErrorCodes.NO_WORKERS, `Only ${this.#workers.size} of ${min} workers registered with ${this.#o.master}`)
      await new Promise((r) => setTimeout(r, 25))
    }
    return this.workers
  }

  /** Tasks launched and not yet finished, as the driver sees them. */
  runningTasks(): TaskRecord[] {
    return [...this.#tasks.values()].filter((t) => t.state === 'running').map((t) => ({ ...t }))
  }

  /** Lets the coordinator's UI show this driver's job summaries (pass `() => ctx.jobs()`). */
  attachJobs(provider: () => unknown): void {
    this.#jobsProvider = provider
    this.#dirty = true
  }

  launch(workerId: string, task: TaskDescription): void {
    this.#taskWorker.set(task.taskId, workerId)
    if (this.lostConnection !== undefined) {
      this.#failLaunch(task.taskId, workerId)
      return
    }
    this.#record(task.taskId, { taskId: task.taskId, jobId: task.jobId, stageId: task.stageId, partition: task.partition, attempt: task.attempt, workerId, kind: task.output.kind === 'shuffle' ? 'map' : 'result', state: 'running', startedAt: Date.now(), ms: null })
    this.#prepare(task).then(
      (modules) => {
        const wire: WireTask = { scope: `${this.session}-${sha256Hex(Buffer.from(task.scratchDir)).slice(0, 12)}`, task, modules }
        // Structured-clone encoding, exactly as local mode's IPC: Maps, Dates, undefined survive.
        this.#conn?.send({ t: 'launch', workerId, key: task.taskId, task: serialize(wire) })
      },
      (err: unknown) => {
        this.#taskWorker.delete(task.taskId)
        this.#emit({
          type: 'task-failed',
          taskId: task.taskId,
          workerId,
          failure: { message: `Cannot ship the job's modules: ${(err as Error).message}`, code: (err as { code?: string }).code ?? ClusterErrorCodes.MODULE_NOT_FOUND },
        })
      },
    )
  }

  cancel(taskId: string): void {
    const w = this.#taskWorker.get(taskId)
    if (w !== undefined) this.#conn?.send({ t: 'cancel', workerId: w, key: taskId })
  }

  /** A task past taskTimeoutMs: its worker kills the task process running it (and replaces it). */
  abort(taskId: string): void {
    const w = this.#taskWorker.get(taskId)
    if (w !== undefined) this.#conn?.send({ t: 'cancel', workerId: w, key: taskId, force: true })
  }

  endJob(): void {
    // Shuffle files stay until the executor closes: later jobs reuse map outputs.
  }

  dropCached(cacheKey: string): void {
    this.#conn?.send({ t: 'drop-cache', cacheKey })
  }

  claimCacheNamespace(prefix: string): void {
    this.#cacheNamespaces.add(prefix)
    this.#conn?.send({ t: 'cache-namespace', prefix })
  }

  /** Pushes a status snapshot (jobs, stages, tasks) to the coordinator's UI. */
  publishStatus(status: unknown): void {
    this.#conn?.send({ t: 'status', status })
  }

  async close(): Promise<void> {
    if (this.#statusTimer !== undefined) clearInterval(this.#statusTimer)
    this.#publish()
    this.#closed = true
    const conn = this.#conn
    if (conn === undefined) return
    // A round trip first: the coordinator has then acted on everything sent before (the last
    // status, a final unpersist), which closing at once could lose to a reset.
    if (!conn.closed) await conn.request({ t: 'bye' }, Math.min(2_000, this.options.requestTimeoutMs)).catch(() => {})
    conn.close()
  }

  #failLaunch(taskId: string, workerId: string): void {
    this.#taskWorker.delete(taskId)
    this.#finish(taskId, 'failed')
    const e = this.lostConnection as ClusterError
    this.#emit({ type: 'task-failed', taskId, workerId, failure: { message: e.message, code: e.code } })
  }

  #record(taskId: string, rec: TaskRecord): void {
    this.#tasks.set(taskId, rec)
    if (this.#tasks.size > MAX_TASK_RECORDS) this.#tasks.delete(this.#tasks.keys().next().value as string)
    this.#dirty = true
    if (this.#statusTimer === undefined && !this.#closed) {
      this.#statusTimer = setInterval(() => this.#publish(), 500)
      this.#statusTimer.unref()
    }
  }

  #finish(taskId: string, state: TaskRecord['state']): void {
    const r = this.#tasks.get(taskId)
    if (r === undefined) return
    r.state = state
    r.ms = Date.now() - r.startedAt
    this.#dirty = true
  }

  #publish(): void {
    if (!this.#dirty || this.#closed || this.#conn === undefined || this.#conn.closed) return
    this.#dirty = false
    let jobs: unknown = []
    try {
      jobs = this.#jobsProvider?.() ?? []
    } catch {
      jobs = []
    }
    this.#conn.send({ t: 'status', status: { session: this.session, jobs, tasks: [...this.#tasks.values()] } })
  }

  async #prepare(task: TaskDescription): Promise<ShippedModule[]> {
    const urls = new Set<string>()
    moduleUrls(task.plan, urls)
    moduleUrls(task.output, urls)
    return Promise.all([...urls].map((u) => this.#ship(u)))
  }

  #ship(url: string): Promise<ShippedModule> {
    let p = this.#modules.get(url)
    if (p === undefined) {
      p = (async () => {
        const path = fileURLToPath(url)
        const bytes = readFileSync(path)
        const digest = sha256Hex(bytes)
        const conn = this.#conn
        if (conn === undefined) throw new ClusterError(ClusterErrorCodes.COORDINATOR_LOST, 'Not connected')
        const has = await conn.request({ t: 'has-blobs', digests: [digest] }, this.options.requestTimeoutMs)
        if ((has.missing as string[]).length > 0) {
          await conn.request({ t: 'put-blob', digest, bytes }, this.options.requestTimeoutMs)
          this.modulesUploaded++
        }
        return { url, digest, name: basename(path) }
      })()
      this.#modules.set(url, p)
      p.catch(() => this.#modules.delete(url))
    }
    return p
  }

  #onTaskEvent(m: Message): void {
    const key = String(m.key)
    const workerId = String(m.workerId)
    if (m.kind === 'lost') return // the worker-lost event covers it
    if (this.#taskWorker.get(key) !== workerId) return
    this.#taskWorker.delete(key)
    this.#finish(key, m.kind === 'done' ? 'succeeded' : 'failed')
    if (m.kind === 'done') {
      const outcome = deserialize(m.result as Buffer) as { result: TaskResult; metrics: TaskMetrics }
      this.#emit({ type: 'task-succeeded', taskId: key, workerId, result: outcome.result, metrics: outcome.metrics })
    } else {
      if ((m.error as TaskFailure | undefined)?.fetchFailed !== undefined) this.fetchFailures++
      this.#emit({ type: 'task-failed', taskId: key, workerId, failure: m.error as TaskFailure })
    }
  }

  #emit(e: ExecutorEvent): void {
    this.#queue.push(e)
    if (this.#flushing) return
    this.#flushing = true
    setImmediate(() => {
      this.#flushing = false
      for (const ev of this.#queue.splice(0)) {
        if (!this.#closed) this.#listener(ev)
      }
    })
  }
}
