// bcrypt verification off the event loop: a few worker threads run bcryptjs's compareSync, at most
// one comparison each, the rest wait in a queue. A cost-11 hash takes ~170 ms of CPU; run on the
// event loop, 20 wrong-password CONNECTs froze every client for seconds. Workers start on first use
// and end after a while without work, so an idle broker holds no threads.
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const bcrypt = require(workerData)
parentPort.on('message', (m) => {
  let ok = false
  try { ok = bcrypt.compareSync(m.pass, m.hash) } catch { ok = false }
  parentPort.postMessage(ok)
})`

/** Workers: one per spare core, at least one, at most two (the event loop keeps a core). */
export const BCRYPT_WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1))
export const BCRYPT_IDLE_MS = 10_000

interface Job {
  pass: string
  hash: string
  resolve: (ok: boolean) => void
}

interface Slot {
  worker: Worker
  job: Job | undefined
}

export class BcryptPool {
  readonly #size: number
  readonly #idleMs: number
  readonly #slots: Slot[] = []
  readonly #queue: Job[] = []
  #idleTimer: NodeJS.Timeout | undefined
  static #modulePath: string | undefined

  constructor(size = BCRYPT_WORKERS, idleMs = BCRYPT_IDLE_MS) {
    this.#size = size
    this.#idleMs = idleMs
  }

  /** Comparisons running or waiting. */
  get pending(): number {
    return this.#queue.length + this.#slots.filter((s) => s.job !== undefined).length
  }

  /** Resolves true when `pass` matches the bcrypt `hash`; false on mismatch or any failure. */
  compare(pass: string, hash: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.#queue.push({ pass, hash, resolve })
      this.#dispatch()
    })
  }

  #dispatch(): void {
    clearTimeout(this.#idleTimer)
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined)
      if (slot === undefined && this.#slots.length < this.#size) slot = this.#spawn()
      if (slot === undefined) return
      const job = this.#queue.shift() as Job
      slot.job = job
      slot.worker.postMessage({ pass: job.pass, hash: job.hash })
    }
    if (this.#slots.every((s) => s.job === undefined)) {
      this.#idleTimer = setTimeout(() => this.close(), this.#idleMs)
      this.#idleTimer.unref()
    }
  }

  #spawn(): Slot {
    BcryptPool.#modulePath ??= createRequire(import.meta.url).resolve('bcryptjs')
    const worker = new Worker(WORKER, { eval: true, workerData: BcryptPool.#modulePath, execArgv: [], stdout: false, stderr: false })
    worker.unref()
    const slot: Slot = { worker, job: undefined }
    worker.on('message', (ok: unknown) => {
      const job = slot.job
      slot.job = undefined
      job?.resolve(ok === true)
      this.#dispatch()
    })
    const fail = (): void => {
      const i = this.#slots.indexOf(slot)
      if (i >= 0) this.#slots.splice(i, 1)
      const job = slot.job
      slot.job = undefined
      job?.resolve(false)
      this.#dispatch()
    }
    worker.on('error', fail)
    worker.on('exit', fail)
    this.#slots.push(slot)
    return slot
  }

  /** Ends the workers; waiting comparisons fail. A later compare() starts new ones. */
  close(): void {
    clearTimeout(this.#idleTimer)
    for (const s of this.#slots.splice(0)) {
      s.worker.removeAllListeners()
      s.job?.resolve(false)
      void s.worker.terminate()
    }
  }
}
