// Runs engine tasks on a cluster worker: a pool of task processes (one per core, so a long task
// never blocks the daemon's heartbeats), module references mapped to content-checked local files,
// the driver's scratch directory mapped to this worker's own, and the worker's map outputs served
// to other workers as shuffle blocks.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { deserialize, serialize } from 'node:v8'
import { LocalShuffleStore } from '../local-shuffle-store.js'
import type { TaskDescription } from '../task-spec.js'
import { sha256Hex } from './blob-store.js'
import { ClusterError, ClusterErrorCodes } from './errors.js'
import type { BlockSource } from './block-server.js'
import type { CommonClusterOptions } from './options.js'
import { parseBlockId } from './remote-fetcher.js'
import type { FromTaskProcess, ToTaskProcess } from './task-process.js'
import type { RemoteTaskContext, RemoteTaskRunner } from './worker.js'
import { workerLoaderArgs } from '../ts-loader.js'

/** A module a task refers to: the driver's URL and the digest of its bytes. */
export interface ShippedModule {
  readonly url: string
  readonly digest: string
  readonly name: string
}

/** What the driver sends as the `task` of a launch. */
export interface WireTask {
  readonly scope: string
  readonly task: TaskDescription
  readonly modules: readonly ShippedModule[]
}

export interface EngineRunnerOptions {
  cores: number
  /** This worker's private directory for shuffle and spill files. */
  scratchRoot: string
  cluster: CommonClusterOptions
  execArgv?: readonly string[]
  /**
   * This worker's memory (--memory-mb): its task processes together keep at most half of it in
   * cached partitions (Spark's default storage fraction), whatever budget a driver asks for.
   */
  memoryMb?: number
  /** Never use the driver's paths even when this machine has them (behave as a separate machine). */
  noSharedFs?: boolean
}

/**
 * The directory of a block scope (one driver's scratch dir) under this worker's scratch root.
 * Scopes come from the wire: one that is empty, all dots, or would leave the root is refused.
 */
export function scopeDir(scratchRoot: string, scope: string): string {
  const name = scope.replace(/[^A-Za-z0-9_.-]/g, '_')
  const root = resolve(scratchRoot)
  const dir = resolve(root, name)
  if (name === '' || /^\.+$/.test(name) || dirname(dir) !== root) {
    throw new ClusterError(ClusterErrorCodes.BAD_SCOPE, `Cannot use block scope "${scope.slice(0, 64)}": it must name a directory inside the scratch root`)
  }
  return dir
}

/** Names a driver session may have (ClusterExecutor.session: 64 random bits in hex). */
const SESSION = /^[0-9a-f]{16}$/

/** Environment for task processes: the worker's, without the cluster secret (it goes over IPC). */
export function taskProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (k !== 'SWITCHYARD_SECRET') out[k] = v
  return out
}

/** Share of a worker's --memory-mb its cached partitions may hold. */
const WORKER_STORAGE_FRACTION = 0.5

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  message: ToTaskProcess
}

interface Proc {
  child: ChildProcess
  ready: Promise<void>
  /** Tasks sent to it, in the order it runs them: the first is running, the rest wait there. */
  running: Map<string, Pending>
  dead: boolean
  /** Bytes of persisted partitions it holds, as of its last report. */
  cacheBytes: number
}

function entry(): { file: string; execArgv: string[] } {
  const self = import.meta.url
  const ts = self.endsWith('.ts')
  const file = fileURLToPath(new URL(ts ? './task-process.ts' : './task-process.js', self))
  // --expose-gc: an unpersist of a large dataset collects at once (cache-store.ts dropCached).
  return { file, execArgv: [...workerLoaderArgs(), '--expose-gc'] }
}

/** Replaces module URLs inside FnSpecs and broadcast file paths (anywhere in the plan) with local ones. */
function rewriteModules(value: unknown, map: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteModules(v, map))
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value
  const proto = Object.getPrototypeOf(value) as unknown
  // Only plain data is walked: Maps, Sets, Dates and class instances in user data stay as they are.
  if (proto !== Object.prototype && proto !== null) return value
  const obj = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  // defineProperty: an own `__proto__` key in user data stays a key (assignment would set the copy's prototype and drop it).
  for (const [k, v] of Object.entries(obj)) Object.defineProperty(out, k, { value: rewriteModules(v, map), enumerable: true, writable: true, configurable: true })
  if (obj.kind === 'module' && typeof obj.module === 'string') {
    const local = map.get(obj.module)
    if (local !== undefined) out.module = local
  }
  if (obj.__syBroadcast === 1 && typeof obj.path === 'string') {
    const local = map.get(pathToFileURL(obj.path).href)
    if (local !== undefined) out.path = fileURLToPath(local)
  }
  return out
}

export class EngineTaskRunner implements RemoteTaskRunner {
  readonly #o: EngineRunnerOptions
  readonly #procs: Proc[] = []
  #ownAddress = ''
  #closing = false
  readonly #localModules = new Map<string, string>()
  tasksRun = 0
  spillBytes = 0
  shuffleWriteBytes = 0
  remoteBlocksRead = 0
  modulesFromCache = 0
  modulesLocal = 0

  constructor(options: EngineRunnerOptions) {
    this.#o = options
    mkdirSync(options.scratchRoot, { recursive: true })
  }

  /** Serves map outputs written on this worker. */
  readonly blockSource: BlockSource = (blockId) => {
    const b = parseBlockId(blockId)
    if (b === undefined) return undefined
    const store = new LocalShuffleStore(scopeDir(this.#o.scratchRoot, b.scope))
    return store.openBlock({ shuffleId: b.shuffleId, mapId: b.mapId, attempt: b.attempt, reduceId: b.reduceId })
  }

  /** Starts the task processes; `ownAddress` is this worker's block server address. */
  async prepare(ownAddress: string): Promise<void> {
    this.#ownAddress = ownAddress
    for (let i = 0; i < Math.max(1, this.#o.cores); i++) this.#procs.push(this.#spawn())
    await Promise.all(this.#procs.map((p) => p.ready))
  }

  #spawn(): Proc {
    const e = entry()
    const child = fork(e.file, [], { execArgv: [...e.execArgv, ...(this.#o.execArgv ?? [])], env: taskProcessEnv(process.env), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const proc: Proc = { child, ready: Promise.resolve(), running: new Map(), dead: false, cacheBytes: 0 }
    proc.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromTaskProcess) => {
        if (m.type === 'ready') {
          resolve()
          return
        }
        if (m.type === 'cache') {
          proc.cacheBytes = m.cacheBytes
          return
        }
        const r = proc.running.get(m.key)
        if (r === undefined) return
        proc.running.delete(m.key)
        if (m.type === 'done') {
          proc.cacheBytes = m.cacheBytes
          this.remoteBlocksRead += m.remoteBlocks
          const metrics = (m.outcome as { metrics?: { spillBytes?: number; shuffleWriteBytes?: number } }).metrics
          this.spillBytes += metrics?.spillBytes ?? 0
          this.shuffleWriteBytes += metrics?.shuffleWriteBytes ?? 0
          r.resolve(m.outcome)
        } else {
          r.reject(Object.assign(new Error(m.failure.message), { code: m.failure.code, stack: m.failure.stack, fetchFailed: m.failure.fetchFailed }))
        }
      })
      child.on('error', () => {})
      child.on('exit', (code, signal) => {
        proc.dead = true
        reject(new Error(`task process exited during start-up (${code ?? signal})`))
        const [started, ...queued] = proc.running
        proc.running.clear()
        started?.[1].reject(new Error(`task process ${child.pid} exited (code ${code}, signal ${signal})`))
        const i = this.#procs.indexOf(proc)
        if (i < 0 || this.#closing) {
          for (const [, p] of queued) p.reject(new Error('worker is shutting down'))
          return
        }
        const next = this.#spawn()
        this.#procs[i] = next
        // The tasks waiting behind the one that died never started: they run on the replacement.
        for (const [key, p] of queued) this.#dispatch(next, key, p)
      })
    })
    proc.ready.catch(() => {})
    const cores = Math.max(1, this.#o.cores)
    const cacheLimitBytes = this.#o.memoryMb === undefined ? undefined : Math.floor((this.#o.memoryMb * 2 ** 20 * WORKER_STORAGE_FRACTION) / cores)
    child.send({ type: 'init', options: this.#o.cluster, ownAddress: this.#ownAddress, ...(cacheLimitBytes === undefined ? {} : { cacheLimitBytes }) } satisfies ToTaskProcess)
    return proc
  }

  async run(raw: unknown, ctx: RemoteTaskContext): Promise<unknown> {
    const wire = deserialize(raw as Buffer) as WireTask
    const map = new Map<string, string>()
    for (const m of wire.modules) map.set(m.url, await this.#resolveModule(m, ctx))
    const scratchDir = scopeDir(this.#o.scratchRoot, wire.scope)
    const task = { ...(rewriteModules(wire.task, map) as TaskDescription), scratchDir }
    if (this.#closing) throw new Error('worker is shutting down')
    const message: ToTaskProcess = { type: 'task', key: ctx.key, scope: wire.scope, task }
    const outcome = new Promise((resolve, reject) => this.#dispatch(this.#pick(), ctx.key, { resolve, reject, message }))
    this.tasksRun++
    return serialize(await outcome)
  }

  /**
   * Stops the task `key` by force (it ran past the driver's taskTimeoutMs): a busy loop never
   * yields to a cancel, so the task process running it is killed, and replaced as after a crash
   * (its exit rejects the task, which frees the slot). A task still waiting behind another is
   * only dropped here; its process skips reporting it to anyone.
   */
  abort(key: string): void {
    for (const p of this.#procs) {
      const pending = p.running.get(key)
      if (pending === undefined) continue
      if (p.running.keys().next().value === key) p.child.kill('SIGKILL')
      else {
        p.running.delete(key)
        pending.reject(new Error('task aborted before it started'))
      }
    }
  }

  /**
   * The live process with the fewest tasks (a dead one is replaced at once, so there is always
   * one). A task process runs its tasks one at a time in arrival order, so a task launched while
   * every process is busy (the scheduler queues one behind a worker's running task when that
   * worker holds its cached input) is sent at once and starts the moment the previous one ends,
   * without a round trip through this daemon.
   */
  #pick(): Proc {
    let best = this.#procs[0] as Proc
    for (const p of this.#procs) if (!p.dead && (best.dead || p.running.size < best.running.size)) best = p
    return best
  }

  #dispatch(proc: Proc, key: string, p: Pending): void {
    proc.running.set(key, p)
    proc.ready.then(
      () => proc.child.send(p.message),
      () => {}, // the exit handler rejects the task or moves it to the replacement
    )
  }

  /** The driver's file when this machine has the same bytes at the same path, else the shipped copy. */
  async #resolveModule(m: ShippedModule, ctx: RemoteTaskContext): Promise<string> {
    // Checked once per (url, digest): later tasks of the job skip re-reading and re-hashing it.
    const known = this.#localModules.get(`${m.digest} ${m.url}`)
    if (known !== undefined) {
      this.modulesLocal++
      return known
    }
    if (m.url.startsWith('file:') && this.#o.noSharedFs !== true) {
      const path = fileURLToPath(m.url)
      try {
        if (existsSync(path) && sha256Hex(readFileSync(path)) === m.digest) {
          this.modulesLocal++
          this.#localModules.set(`${m.digest} ${m.url}`, m.url)
          return m.url
        }
      } catch {
        // unreadable here: use the shipped copy
      }
    }
    this.modulesFromCache++
    return pathToFileURL(await ctx.blobPath({ digest: m.digest, name: m.name })).href
  }

  endScope(scope: string): void {
    rmSync(scopeDir(this.#o.scratchRoot, scope), { recursive: true, force: true })
  }

  /** A driver went away (stopped, crashed, killed): its scopes' shuffle and spill files go too. */
  endSession(session: string): void {
    if (!SESSION.test(session)) return
    let names: string[]
    try {
      names = readdirSync(this.#o.scratchRoot)
    } catch {
      return
    }
    for (const name of names) if (name.startsWith(`${session}-`)) rmSync(scopeDir(this.#o.scratchRoot, name), { recursive: true, force: true })
  }

  dropCached(cacheKey: string): void {
    for (const p of this.#procs) {
      if (p.dead) continue
      p.ready.then(
        () => p.child.send({ type: 'drop-cache', cacheKey } satisfies ToTaskProcess),
        () => {},
      )
    }
  }

  stats(): Record<string, number> {
    let cacheBytes = 0
    for (const p of this.#procs) if (!p.dead) cacheBytes += p.cacheBytes
    return { cacheBytes, taskProcesses: this.#procs.filter((p) => !p.dead).length, remoteBlocksRead: this.remoteBlocksRead, tasksRun: this.tasksRun, spillBytes: this.spillBytes, shuffleWriteBytes: this.shuffleWriteBytes }
  }

  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(
      this.#procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
            p.child.once('exit', () => resolve())
            p.child.kill('SIGKILL')
          }),
      ),
    )
    rmSync(this.#o.scratchRoot, { recursive: true, force: true })
  }
}
