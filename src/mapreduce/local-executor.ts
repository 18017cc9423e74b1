// Local mode executor: N worker processes forked from this one (child_process.fork, IPC channel).
// Processes rather than threads so one can be killed (kill -9) without taking the driver down; a
// dead worker is reported as lost and replaced by a new process with a new id.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Executor, ExecutorListener, WorkerInfo } from './executor.js'
import type { DriverMessage, WorkerMessage } from './local-protocol.js'
import type { TaskDescription } from './task-spec.js'
import { workerLoaderArgs } from './ts-loader.js'

export interface LocalExecutorOptions {
  /** Worker processes. */
  readonly workers: number
  /** Extra node flags for workers (e.g. --max-old-space-size=...). */
  readonly execArgv?: readonly string[]
  /** Replacement processes started over the executor's life before giving up. */
  readonly maxRestarts?: number
}

interface Worker {
  readonly info: WorkerInfo
  readonly child: ChildProcess
  ready: boolean
  readonly tasks: Set<string>
}

function workerEntry(): { file: string; execArgv: string[] } {
  const self = import.meta.url
  const ts = self.endsWith('.ts')
  const file = fileURLToPath(new URL(ts ? './worker-main.ts' : './worker-main.js', self))
  // --expose-gc: an unpersist of a large dataset collects at once (cache-store.ts dropCached).
  return { file, execArgv: [...workerLoaderArgs(), '--expose-gc'] }
}

/**
 * V8 flags for local worker processes. A worker told to live in little memory also gets a small
 * young generation: V8's default semi-spaces (16 MiB each, up to 48 MiB of young generation) made
 * a 128 MiB worker's peak RSS swing between 300 and 416 MB with the same work; at 4 MiB it stayed
 * at 314-346 MB. Flags the caller passes win.
 */
export function workerArgs(memoryPerWorkerMb: number, given: readonly string[] | undefined): string[] {
  const args = [...(given ?? [])]
  const semiMb = Math.max(1, Math.min(16, Math.floor(memoryPerWorkerMb / 32)))
  if (semiMb < 16 && !args.some((a) => a.startsWith('--max-semi-space-size'))) args.push(`--max-semi-space-size=${semiMb}`)
  return args
}

export class LocalExecutor implements Executor {
  readonly kind = 'local'
  readonly #options: LocalExecutorOptions
  readonly #workers = new Map<string, Worker>()
  #listener: ExecutorListener = () => {}
  #seq = 0
  #restarts = 0
  #closing = false

  constructor(options: LocalExecutorOptions) {
    this.#options = options
  }

  /** Live worker processes (the fault tests pick one to kill). */
  get workerPids(): number[] {
    return [...this.#workers.values()].filter((w) => w.ready).map((w) => w.info.pid as number)
  }

  #emit(e: Parameters<ExecutorListener>[0]): void {
    setImmediate(() => { if (!this.#closing) this.#listener(e) })
  }

  #spawn(): Promise<WorkerInfo> {
    const entry = workerEntry()
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, ...(this.#options.execArgv ?? [])],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const id = `local-${++this.#seq}`
    const info: WorkerInfo = { id, slots: 1, address: '', ...(child.pid === undefined ? {} : { pid: child.pid }) }
    const w: Worker = { info, child, ready: false, tasks: new Set() }
    this.#workers.set(id, w)
    return new Promise((resolve, reject) => {
      child.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') {
          w.ready = true
          // An idle worker does not keep the driver alive: a running job holds the event loop
          // itself (scheduler.ts), so a program whose work never settles ends instead of idling.
          child.unref()
          ;(child.channel as { unref?: () => void } | undefined)?.unref?.()
          resolve(info)
          return
        }
        if (!w.tasks.delete(msg.taskId)) return
        if (msg.type === 'result') this.#emit({ type: 'task-succeeded', taskId: msg.taskId, workerId: id, result: msg.result, metrics: msg.metrics })
        else this.#emit({ type: 'task-failed', taskId: msg.taskId, workerId: id, failure: msg.failure })
      })
      child.on('error', () => {})
      child.on('exit', (code, signal) => {
        const wasReady = w.ready
        this.#workers.delete(id)
        if (!wasReady) reject(new Error(`Worker process exited during start-up (code ${code}, signal ${signal})`))
        if (this.#closing) return
        w.tasks.clear()
        this.#emit({ type: 'worker-lost', workerId: id, reason: `process ${info.pid} exited (code ${code}, signal ${signal})` })
        if (this.#restarts < (this.#options.maxRestarts ?? this.#options.workers * 20)) {
          this.#restarts++
          this.#spawn().then(
            (nw) => this.#emit({ type: 'worker-up', worker: nw }),
            () => {},
          )
        }
      })
    })
  }

  async start(listener: ExecutorListener): Promise<readonly WorkerInfo[]> {
    this.#listener = listener
    const n = Math.max(1, this.#options.workers)
    return Promise.all(Array.from({ length: n }, () => this.#spawn()))
  }

  launch(workerId: string, task: TaskDescription): void {
    const w = this.#workers.get(workerId)
    if (w === undefined || !w.child.connected) {
      // The worker is gone; its worker-lost event is on the way (or was sent) and covers this task.
      return
    }
    w.tasks.add(task.taskId)
    w.child.send({ type: 'task', task } satisfies DriverMessage)
  }

  abort(taskId: string): void {
    // One task per process: killing it stops the task; the process is replaced as after a crash.
    for (const w of this.#workers.values()) if (w.tasks.has(taskId)) w.child.kill('SIGKILL')
  }

  cancel(): void {
    // Tasks run to completion; the scheduler ignores results it no longer needs.
  }

  endJob(jobId: string, scratchDir: string): void {
    for (const w of this.#workers.values()) if (w.child.connected) w.child.send({ type: 'end-job', jobId, scratchDir } satisfies DriverMessage)
  }

  dropCached(cacheKey: string): void {
    for (const w of this.#workers.values()) if (w.child.connected) w.child.send({ type: 'drop-cache', cacheKey } satisfies DriverMessage)
  }

  async close(): Promise<void> {
    this.#closing = true
    const exits = [...this.#workers.values()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) { resolve(); return }
          w.child.ref()
          w.child.once('exit', () => resolve())
          w.child.kill('SIGKILL')
        }),
    )
    await Promise.all(exits)
    this.#workers.clear()
  }
}
