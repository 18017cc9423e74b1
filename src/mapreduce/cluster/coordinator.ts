// The cluster coordinator: authenticates workers and drivers, tracks worker membership by
// heartbeat, declares silent workers dead and fences them (their later messages are dropped),
// relays task launches and task events between drivers and workers, stores content-addressed
// blobs (modules, broadcasts) and serves the job UI with its JSON API.
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../../internal/logger.js'
import { silentLogger } from '../../internal/logger.js'
import { CoarseTimerWheel, type CoarseTimer } from '../../internal/timers.js'
import { MemoryBlobStore } from './blob-store.js'
import { peerAddress, type Connection, type Message } from './connection.js'
import { ClusterErrorCodes, errorCode } from './errors.js'
import { acceptConnection } from './handshake.js'
import { resolveCommon, type CommonClusterOptions, type ResolvedCommon } from './options.js'

export interface CoordinatorOptions extends CommonClusterOptions {
  host?: string
  /** 0 picks a free port. */
  port?: number
  logger?: Logger
}

export type WorkerState = 'alive' | 'dead' | 'left'

export interface WorkerInfo {
  id: string
  epoch: number
  host: string
  blockPort: number
  cores: number
  memoryMb: number
  pid: number
  hostname: string
  state: WorkerState
  registeredAt: number
  lastHeartbeatAt: number
  runningTasks: number
  tasksDone: number
  tasksFailed: number
  /** Free-form gauges from the worker's heartbeat (cache, shuffle and spill bytes ...). */
  stats: Record<string, number>
}

interface WorkerRecord extends WorkerInfo {
  conn: Connection
  timer: CoarseTimer
  /** Task keys currently running there, with the driver that launched them. */
  running: Map<string, string>
}

interface DriverRecord {
  id: string
  conn: Connection
  connectedAt: number
  app: string
  /** Latest job/stage/task snapshot pushed by the driver for the UI. */
  status: unknown
  /** Cache-key prefixes of this driver's persisted partitions, dropped on every worker when it leaves. */
  cacheNamespaces: Set<string>
  /** The driver's session id (prefix of its block scopes), whose scratch files workers remove when it leaves. */
  session: string
}

export interface CoordinatorCounters {
  workersRegistered: number
  workersLost: number
  /** Task events that arrived from a fenced (declared dead) worker and were dropped. */
  staleEventsIgnored: number
  authFailures: number
  tasksLaunched: number
  blobsServed: number
}

export class Coordinator {
  readonly options: ResolvedCommon
  readonly #logger: Logger
  readonly #server: Server
  readonly #workers = new Map<string, WorkerRecord>()
  readonly #drivers = new Map<string, DriverRecord>()
  readonly #blobs = new MemoryBlobStore()
  readonly #wheel: CoarseTimerWheel
  readonly #sockets = new Set<Socket>()
  readonly #listeners = { workerLost: [] as ((w: WorkerInfo) => void)[], workerAdded: [] as ((w: WorkerInfo) => void)[] }
  readonly counters: CoordinatorCounters = { workersRegistered: 0, workersLost: 0, staleEventsIgnored: 0, authFailures: 0, tasksLaunched: 0, blobsServed: 0 }
  #nextWorker = 1
  #nextDriver = 1
  #epoch = 0
  #host: string
  #port: number
  readonly startedAt = Date.now()

  private constructor(options: CoordinatorOptions) {
    this.options = resolveCommon(options)
    this.#logger = options.logger ?? silentLogger()
    this.#host = options.host ?? '127.0.0.1'
    this.#port = options.port ?? 7077
    this.#wheel = new CoarseTimerWheel(Math.max(50, Math.min(250, Math.floor(this.options.heartbeatIntervalMs / 2))))
    this.#server = createServer((socket) => this.#accept(socket))
  }

  static async start(options: CoordinatorOptions = {}): Promise<Coordinator> {
    const c = new Coordinator(options)
    await new Promise<void>((resolve, reject) => {
      c.#server.once('error', reject)
      c.#server.listen(c.#port, c.#host, () => {
        c.#server.off('error', reject)
        resolve()
      })
    })
    c.#port = (c.#server.address() as AddressInfo).port
    c.#logger.info({ host: c.#host, port: c.#port }, 'coordinator listening')
    return c
  }

  get port(): number {
    return this.#port
  }

  get host(): string {
    return this.#host
  }

  get url(): string {
    return `sy://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`
  }

  workers(): WorkerInfo[] {
    return [...this.#workers.values()].map(publicInfo)
  }

  aliveWorkers(): WorkerInfo[] {
    return this.workers().filter((w) => w.state === 'alive')
  }

  drivers(): { id: string; app: string; connectedAt: number; status: unknown }[] {
    return [...this.#drivers.values()].map((d) => ({ id: d.id, app: d.app, connectedAt: d.connectedAt, status: d.status }))
  }

  get blobs(): MemoryBlobStore {
    return this.#blobs
  }

  onWorkerLost(l: (w: WorkerInfo) => void): void {
    this.#listeners.workerLost.push(l)
  }

  onWorkerAdded(l: (w: WorkerInfo) => void): void {
    this.#listeners.workerAdded.push(l)
  }

  /** Resolves once `n` workers are alive (or rejects after timeoutMs). */
  async waitForWorkers(n: number, timeoutMs = 30_000): Promise<WorkerInfo[]> {
    const deadline = Date.now() + timeoutMs
    while (this.aliveWorkers().length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.aliveWorkers().length} of ${n} workers registered within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 20))
    }
    return this.aliveWorkers()
  }

  async close(): Promise<void> {
    for (const w of this.#workers.values()) w.timer.clear()
    for (const d of this.#drivers.values()) d.conn.close()
    for (const w of this.#workers.values()) w.conn.close()
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket)
    // Taken now: once the handshake failed the socket is destroyed and no longer knows its peer.
    const peer = peerAddress(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    acceptConnection(socket, { ...this.options, timeoutMs: this.options.handshakeTimeoutMs }, ['worker', 'driver']).then(
      (conn) => {
        conn.onClose((err) => {
          // A frame that failed its MAC or checksum: someone on the path, or a broken link.
          if (err !== undefined) this.#logger.warn({ peer, role: conn.peerRole, code: errorCode(err), err: err.message }, 'cluster connection closed on error')
        })
        if (conn.peerRole === 'worker') this.#serveWorker(conn)
        else this.#serveDriver(conn)
        conn.start()
      },
      (err: unknown) => {
        this.counters.authFailures++
        this.#logger.warn({ peer, code: errorCode(err), err: (err as Error).message }, 'rejected cluster peer')
      },
    )
  }

  // ---- workers ----

  #serveWorker(conn: Connection): void {
    let record: WorkerRecord | undefined
    conn.handle('register', (msg) => {
      if (record !== undefined) return { err: { code: ClusterErrorCodes.PROTOCOL, message: 'already registered' } }
      const id = `w${this.#nextWorker++}`
      const epoch = ++this.#epoch
      const now = Date.now()
      const timer = this.#wheel.setTimeout(() => this.#declareDead(id, epoch, 'missed heartbeats'), this.options.heartbeatTimeoutMs)
      record = {
        id,
        epoch,
        host: typeof msg.blockHost === 'string' && msg.blockHost !== '' ? msg.blockHost : (conn.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        blockPort: num(msg.blockPort),
        cores: num(msg.cores) || 1,
        memoryMb: num(msg.memoryMb),
        pid: num(msg.pid),
        hostname: typeof msg.hostname === 'string' ? msg.hostname : '',
        state: 'alive',
        registeredAt: now,
        lastHeartbeatAt: now,
        runningTasks: 0,
        tasksDone: 0,
        tasksFailed: 0,
        stats: {},
        conn,
        timer,
        running: new Map(),
      }
      this.#workers.set(id, record)
      this.counters.workersRegistered++
      this.#logger.info({ worker: id, epoch, host: record.host, cores: record.cores }, 'worker registered')
      const info = publicInfo(record)
      for (const l of this.#listeners.workerAdded) l(info)
      this.#broadcastToDrivers({ t: 'worker-added', worker: info })
      return { workerId: id, epoch, heartbeatIntervalMs: this.options.heartbeatIntervalMs, heartbeatTimeoutMs: this.options.heartbeatTimeoutMs }
    })
    conn.handle('hb', (msg) => {
      if (record === undefined) return
      if (record.state !== 'alive' || msg.epoch !== record.epoch) {
        conn.send({ t: 'fenced', epoch: record.epoch })
        return
      }
      record.lastHeartbeatAt = Date.now()
      record.timer.refresh()
      if (msg.stats !== null && typeof msg.stats === 'object') record.stats = msg.stats as Record<string, number>
      conn.send({ t: 'hb-ack' })
    })
    conn.handle('task-event', (msg) => {
      if (record === undefined) return
      if (record.state !== 'alive' || msg.epoch !== record.epoch) {
        // Fencing: a worker we declared dead may still finish work (SIGSTOP, partition). Its
        // attempts were already rescheduled, so whatever it reports now must not count.
        this.counters.staleEventsIgnored++
        this.#logger.warn({ worker: record.id, key: msg.key }, 'ignored task event from a fenced worker')
        conn.send({ t: 'fenced', epoch: record.epoch })
        return
      }
      const key = String(msg.key)
      const driverId = record.running.get(key)
      const final = msg.kind === 'done' || msg.kind === 'failed'
      if (final) {
        record.running.delete(key)
        record.runningTasks = record.running.size
        if (msg.kind === 'done') record.tasksDone++
        else record.tasksFailed++
      }
      const driver = driverId === undefined ? undefined : this.#drivers.get(driverId)
      driver?.conn.send({ ...msg, t: 'task-event', workerId: record.id })
    })
    conn.handle('get-blob', (msg) => {
      const digest = String(msg.digest)
      const bytes = this.#blobs.get(digest)
      if (bytes === undefined) return { err: { code: ClusterErrorCodes.MODULE_NOT_FOUND, message: `No blob ${digest.slice(0, 12)} on the coordinator` } }
      this.counters.blobsServed++
      return { bytes }
    })
    conn.onClose(() => {
      if (record !== undefined) this.#declareDead(record.id, record.epoch, 'connection closed')
    })
  }

  #declareDead(id: string, epoch: number, reason: string): void {
    const w = this.#workers.get(id)
    if (w === undefined || w.epoch !== epoch || w.state !== 'alive') return
    w.state = 'dead'
    w.timer.clear()
    this.counters.workersLost++
    this.#logger.warn({ worker: id, reason, running: w.running.size }, 'worker lost')
    // Tell it (if it can still hear) that it is fenced; a live socket is kept so that late
    // messages can be seen and dropped, and the worker re-registers under a new epoch.
    if (!w.conn.closed) w.conn.send({ t: 'fenced', epoch })
    const lostTasks = [...w.running.entries()]
    w.running.clear()
    w.runningTasks = 0
    const info = publicInfo(w)
    for (const l of this.#listeners.workerLost) l(info)
    for (const d of this.#drivers.values()) {
      d.conn.send({ t: 'worker-lost', worker: info, reason, tasks: lostTasks.filter(([, drv]) => drv === d.id).map(([k]) => k) })
    }
  }

  // ---- drivers ----

  #serveDriver(conn: Connection): void {
    const id = `d${this.#nextDriver++}`
    const record: DriverRecord = { id, conn, connectedAt: Date.now(), app: '', status: null, cacheNamespaces: new Set(), session: '' }
    this.#drivers.set(id, record)
    conn.handle('hello-driver', (msg) => {
      record.app = typeof msg.app === 'string' ? msg.app : ''
      if (typeof msg.session === 'string' && /^[0-9a-f]{16}$/.test(msg.session)) record.session = msg.session
      return { driverId: id, workers: this.workers().filter((w) => w.state === 'alive') }
    })
    conn.handle('has-blobs', (msg) => {
      const digests = Array.isArray(msg.digests) ? (msg.digests as unknown[]).map(String) : []
      return { missing: digests.filter((d) => !this.#blobs.has(d)) }
    })
    conn.handle('put-blob', (msg) => {
      this.#blobs.put(String(msg.digest), msg.bytes as Uint8Array)
      return { ok: true }
    })
    conn.handle('launch', (msg) => {
      const w = this.#workers.get(String(msg.workerId))
      const key = String(msg.key)
      if (w === undefined || w.state !== 'alive') {
        // The driver raced a loss: report it as lost at once so the scheduler reschedules.
        conn.send({ t: 'task-event', key, kind: 'lost', workerId: String(msg.workerId), reason: 'worker not alive' })
        return
      }
      w.running.set(key, id)
      w.runningTasks = w.running.size
      this.counters.tasksLaunched++
      w.conn.send({ t: 'run-task', key, driverId: id, task: msg.task, blobs: msg.blobs, epoch: w.epoch })
    })
    conn.handle('cancel', (msg) => {
      const w = this.#workers.get(String(msg.workerId))
      if (w === undefined || w.state !== 'alive') return
      w.conn.send({ t: 'cancel', key: msg.key, ...(msg.force === true ? { force: true } : {}) })
    })
    conn.handle('status', (msg) => {
      record.status = msg.status
    })
    conn.handle('drop-cache', (msg) => {
      if (typeof msg.cacheKey === 'string' && msg.cacheKey !== '') this.#dropCached(msg.cacheKey)
    })
    conn.handle('cache-namespace', (msg) => {
      if (typeof msg.prefix === 'string' && msg.prefix !== '' && record.cacheNamespaces.size < 1024) record.cacheNamespaces.add(msg.prefix)
    })
    conn.handle('workers', () => ({ workers: this.workers() }))
    conn.handle('bye', () => ({ ok: true }))
    conn.onClose(() => {
      this.#drivers.delete(id)
      // Gone, cleanly or not: nobody can read its persisted partitions any more.
      for (const prefix of record.cacheNamespaces) this.#dropCached(prefix)
      // ... nor fetch its shuffle blocks: workers remove its scratch files (kill -9 included).
      if (record.session !== '') for (const w of this.#workers.values()) if (w.state === 'alive') w.conn.send({ t: 'end-session', session: record.session })
      for (const w of this.#workers.values()) {
        if (w.state !== 'alive') continue
        for (const [key, drv] of w.running) {
          if (drv !== id) continue
          w.running.delete(key)
          w.conn.send({ t: 'cancel', key })
        }
        w.runningTasks = w.running.size
      }
    })
  }

  #dropCached(cacheKey: string): void {
    for (const w of this.#workers.values()) if (w.state === 'alive') w.conn.send({ t: 'drop-cache', cacheKey })
  }

  #broadcastToDrivers(msg: Message): void {
    for (const d of this.#drivers.values()) d.conn.send(msg)
  }

  /** Snapshot for the JSON API and the UI. */
  snapshot(): unknown {
    return {
      url: this.url,
      startedAt: this.startedAt,
      now: Date.now(),
      counters: this.counters,
      blobs: { count: this.#blobs.size, bytes: this.#blobs.bytes },
      workers: this.workers(),
      drivers: this.drivers(),
    }
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

function publicInfo(w: WorkerRecord): WorkerInfo {
  return {
    id: w.id,
    epoch: w.epoch,
    host: w.host,
    blockPort: w.blockPort,
    cores: w.cores,
    memoryMb: w.memoryMb,
    pid: w.pid,
    hostname: w.hostname,
    state: w.state,
    registeredAt: w.registeredAt,
    lastHeartbeatAt: w.lastHeartbeatAt,
    runningTasks: w.running.size,
    tasksDone: w.tasksDone,
    tasksFailed: w.tasksFailed,
    stats: { ...w.stats },
  }
}
