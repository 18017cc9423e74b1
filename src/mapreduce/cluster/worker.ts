// The cluster worker daemon: connects to the coordinator, authenticates (and checks that the
// coordinator knows the secret before accepting any task), registers, heartbeats, runs the tasks
// it is sent through a task runner, fetches job modules and broadcasts content-addressed into a
// disk cache, and serves its shuffle blocks to other workers. When the coordinator fences it
// (declared dead after a pause), it finishes reporting, then re-registers under a new epoch.
import { hostname as osHostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../../internal/logger.js'
import { silentLogger } from '../../internal/logger.js'
import { DiskBlobCache } from './blob-store.js'
import { BlockFetcher } from './block-fetcher.js'
import { BlockServer, type BlockSource } from './block-server.js'
import type { Connection, Message } from './connection.js'
import { errorCode } from './errors.js'
import { openConnection } from './handshake.js'
import { resolveCommon, type CommonClusterOptions, type ResolvedCommon } from './options.js'

export interface BlobRef {
  digest: string
  name: string
}

export interface RemoteTaskContext {
  readonly key: string
  readonly workerId: string
  readonly signal: AbortSignal
  /** Local path of a shipped blob (module, broadcast), fetched from the coordinator once. */
  blobPath(ref: BlobRef): Promise<string>
  /** Fetches blocks from other workers. */
  readonly fetcher: BlockFetcher
}

/** Runs one task on this worker; resolves with its (msgpack-serialisable) result. */
export interface RemoteTaskRunner {
  /** Called once the block server listens, before registering; `blockAddress` is `host:port`. */
  prepare?(blockAddress: string): Promise<void>
  run(task: unknown, ctx: RemoteTaskContext): Promise<unknown>
  /** Stops the task `key` even by force (it timed out): the task reports failed or its process dies. */
  abort?(key: string): void
  /** The driver of `session` went away: remove its scratch files. */
  endSession?(session: string): void
  /** unpersist(): drop the partitions of `cacheKey` this worker holds. */
  dropCached?(cacheKey: string): void
  /** Gauges for heartbeats and the UI (cache bytes, shuffle bytes, spill bytes ...). */
  stats?(): Record<string, number>
  close?(): Promise<void>
}

export interface WorkerOptions extends CommonClusterOptions {
  coordinatorHost: string
  coordinatorPort: number
  cores?: number
  memoryMb?: number
  /** Address other workers use to fetch blocks from this one. Default: bind address. */
  advertiseHost?: string
  blockHost?: string
  /** 0 picks a free port. */
  blockPort?: number
  cacheDir?: string
  runner: RemoteTaskRunner
  /** Resolves a shuffle block id to bytes on this worker's disk. */
  blocks: BlockSource
  logger?: Logger
  /** Give up after this many consecutive failed connection attempts; 0 = never. */
  maxReconnects?: number
}

/** Room left in a frame for the task-event envelope around a result (key, ids, timings). */
const RESULT_FRAME_HEADROOM = 64 * 1024

interface Running {
  abort: AbortController
  epoch: number
}

export class Worker {
  readonly options: ResolvedCommon
  readonly #o: WorkerOptions
  readonly #logger: Logger
  readonly #cache: DiskBlobCache
  readonly fetcher: BlockFetcher
  #blockServer: BlockServer | undefined
  #conn: Connection | undefined
  #workerId = ''
  #epoch = 0
  #closing = false
  #fenced = false
  #hbTimer: NodeJS.Timeout | undefined
  #lastAck = 0
  readonly #running = new Map<string, Running>()
  readonly #registered: ((id: string) => void)[] = []
  registrations = 0
  tasksRun = 0

  constructor(options: WorkerOptions) {
    this.options = resolveCommon(options)
    this.#o = options
    this.#logger = options.logger ?? silentLogger()
    this.#cache = new DiskBlobCache(options.cacheDir ?? join(tmpdir(), `switchyard-worker-${process.pid}`, 'blobs'))
    this.fetcher = new BlockFetcher(this.options)
  }

  get workerId(): string {
    return this.#workerId
  }

  get epoch(): number {
    return this.#epoch
  }

  get blockPort(): number {
    return this.#blockServer?.port ?? 0
  }

  get blobCache(): DiskBlobCache {
    return this.#cache
  }

  get blockStats(): BlockServer['stats'] | undefined {
    return this.#blockServer?.stats
  }

  onRegistered(l: (id: string) => void): void {
    this.#registered.push(l)
  }

  /** Starts the block server and connects; resolves after the first registration. */
  async start(): Promise<void> {
    const bindHost = this.#o.blockHost ?? '127.0.0.1'
    this.#blockServer = await BlockServer.start(this.options, this.#o.blocks, { host: bindHost, port: this.#o.blockPort ?? 0 }, this.#logger)
    const adv = this.#o.advertiseHost ?? bindHost
    await this.#o.runner.prepare?.(`${adv.includes(':') ? `[${adv}]` : adv}:${this.blockPort}`)
    const first = new Promise<void>((resolve) => this.onRegistered(() => resolve()))
    void this.#connectLoop()
    await first
  }

  async close(): Promise<void> {
    this.#closing = true
    if (this.#hbTimer !== undefined) clearInterval(this.#hbTimer)
    for (const r of this.#running.values()) r.abort.abort()
    this.#conn?.close()
    this.fetcher.close()
    await this.#blockServer?.close()
    await this.#o.runner.close?.()
  }

  async #connectLoop(): Promise<void> {
    let failures = 0
    while (!this.#closing) {
      try {
        const conn = await openConnection(this.#o.coordinatorHost, this.#o.coordinatorPort, 'worker', { ...this.options, timeoutMs: this.options.handshakeTimeoutMs })
        failures = 0
        await this.#session(conn)
      } catch (err) {
        failures++
        this.#logger.warn({ code: errorCode(err), err: (err as Error).message, failures }, 'coordinator connection failed')
        if (this.#o.maxReconnects !== undefined && this.#o.maxReconnects > 0 && failures >= this.#o.maxReconnects) {
          this.#logger.error('giving up on the coordinator')
          return
        }
      }
      if (this.#closing) return
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(failures, 5))))
    }
  }

  /** One authenticated session; resolves when it ends (closed, fenced, coordinator silent). */
  async #session(conn: Connection): Promise<void> {
    this.#conn = conn
    this.#fenced = false
    const ended = new Promise<void>((resolve) =>
      conn.onClose((err) => {
        if (err !== undefined) this.#logger.warn({ peer: conn.remoteAddress, code: errorCode(err), err: err.message }, 'coordinator connection closed on error')
        resolve()
      }),
    )
    conn.handle('hb-ack', () => {
      this.#lastAck = Date.now()
    })
    conn.handle('fenced', () => this.#onFenced(conn))
    conn.handle('run-task', (msg) => this.#runTask(conn, msg))
    conn.handle('cancel', (msg) => {
      const key = String(msg.key)
      const running = this.#running.get(key)
      if (running === undefined) return
      running.abort.abort()
      // A timed-out task (force) may be stuck in a loop that never looks at the signal.
      if (msg.force === true) this.#o.runner.abort?.(key)
    })
    conn.handle('end-session', (msg) => {
      if (typeof msg.session === 'string') this.#o.runner.endSession?.(msg.session)
    })
    conn.handle('drop-cache', (msg) => {
      if (typeof msg.cacheKey === 'string' && msg.cacheKey !== '') this.#o.runner.dropCached?.(msg.cacheKey)
    })
    conn.start()
    const reply = await conn.request(
      {
        t: 'register',
        cores: this.#o.cores ?? 1,
        memoryMb: this.#o.memoryMb ?? 0,
        blockHost: this.#o.advertiseHost ?? this.#o.blockHost ?? '',
        blockPort: this.blockPort,
        pid: process.pid,
        hostname: osHostname(),
      },
      this.options.requestTimeoutMs,
    )
    this.#workerId = String(reply.workerId)
    this.#epoch = Number(reply.epoch)
    this.registrations++
    this.#lastAck = Date.now()
    this.#logger.info({ worker: this.#workerId, epoch: this.#epoch }, 'registered with the coordinator')
    for (const l of this.#registered) l(this.#workerId)
    if (this.#hbTimer !== undefined) clearInterval(this.#hbTimer)
    const epoch = this.#epoch
    let lastTick = Date.now()
    this.#hbTimer = setInterval(() => {
      if (conn.closed) return
      const now = Date.now()
      // This process itself was paused (SIGSTOP, swap, debugger): the silence is ours, so check in
      // first; a coordinator that declared us dead answers "fenced" and we re-register.
      if (now - lastTick > 2 * this.options.heartbeatIntervalMs) this.#lastAck = now
      lastTick = now
      // A coordinator that stopped answering is treated like a closed connection.
      if (now - this.#lastAck > this.options.heartbeatTimeoutMs && !this.#fenced) {
        this.#logger.warn('coordinator silent: reconnecting')
        conn.close()
        return
      }
      conn.send({ t: 'hb', epoch, stats: this.#stats() })
    }, this.options.heartbeatIntervalMs)
    this.#hbTimer.unref()
    await ended
    if (this.#hbTimer !== undefined) clearInterval(this.#hbTimer)
    // Tasks of a lost session cannot report any more: the coordinator rescheduled them.
    for (const [key, r] of this.#running) {
      if (r.epoch !== epoch) continue
      r.abort.abort()
      this.#running.delete(key)
    }
  }

  #onFenced(conn: Connection): void {
    if (this.#fenced) return
    this.#fenced = true
    this.#logger.warn({ worker: this.#workerId }, 'fenced by the coordinator: re-registering')
    // Let in-flight tasks report (the coordinator drops those reports), then start afresh.
    const deadline = Date.now() + this.options.heartbeatTimeoutMs
    const check = (): void => {
      if (conn.closed) return
      if (this.#running.size === 0 || Date.now() > deadline) conn.close()
      else setTimeout(check, 20)
    }
    check()
  }

  #stats(): Record<string, number> {
    const s: Record<string, number> = { ...(this.#o.runner.stats?.() ?? {}) }
    const b = this.#blockServer?.stats
    if (b !== undefined) {
      s.blocksServed = b.blocksServed
      s.bytesServed = b.bytesServed
    }
    s.bytesFetched = this.fetcher.bytesFetched
    s.blobFetches = this.#cache.fetches
    s.runningTasks = this.#running.size
    s.rssBytes = process.memoryUsage.rss()
    return s
  }

  #runTask(conn: Connection, msg: Message): void {
    const key = String(msg.key)
    const epoch = this.#epoch
    const abort = new AbortController()
    this.#running.set(key, { abort, epoch })
    const ctx: RemoteTaskContext = {
      key,
      workerId: this.#workerId,
      signal: abort.signal,
      fetcher: this.fetcher,
      blobPath: (ref) =>
        this.#cache.ensure(ref.digest, ref.name, async () => {
          const r = await conn.request({ t: 'get-blob', digest: ref.digest }, this.options.requestTimeoutMs)
          return r.bytes as Uint8Array
        }),
    }
    const started = Date.now()
    this.#o.runner.run(msg.task, ctx).then(
      (result) => {
        this.#running.delete(key)
        this.tasksRun++
        // A result the coordinator's frame limit refuses would close this connection (the worker
        // looks lost and the task reruns forever): report it as a failure that names the limit.
        const bytes = (result as { byteLength?: unknown } | null)?.byteLength
        if (typeof bytes === 'number' && bytes > this.options.maxFrameBytes - RESULT_FRAME_HEADROOM) {
          const mib = (n: number): string => (n / 2 ** 20).toFixed(1)
          const message = `Task result is ${mib(bytes)} MiB, over the cluster frame limit (maxFrameBytes ${mib(this.options.maxFrameBytes)} MiB); write the result with saveAsTextFile or reduce it before collect()`
          conn.send({ t: 'task-event', key, kind: 'failed', epoch, ms: Date.now() - started, error: { code: 'ERR_JOB_RESULT_TOO_LARGE', message, stack: '' } })
          return
        }
        // Cancelled tasks report too (the executor contract): the scheduler frees the slot on it.
        conn.send({ t: 'task-event', key, kind: 'done', epoch, result, ms: Date.now() - started })
      },
      (err: unknown) => {
        this.#running.delete(key)
        const e = err as { code?: unknown; message?: unknown; stack?: unknown; fetchFailed?: unknown }
        conn.send({
          t: 'task-event',
          key,
          kind: 'failed',
          epoch,
          ms: Date.now() - started,
          error: { code: typeof e?.code === 'string' ? e.code : 'ERR_CLUSTER_REMOTE', message: String(e?.message ?? err), stack: typeof e?.stack === 'string' ? e.stack : '', ...(e?.fetchFailed === undefined ? {} : { fetchFailed: e.fetchFailed }) },
        })
      },
    )
  }
}
