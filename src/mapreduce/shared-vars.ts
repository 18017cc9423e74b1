// Broadcast variables and accumulators. Both travel inside a function's `env` as small tagged
// references: a broadcast names a file of v8-serialised bytes by sha256 (each worker process reads
// it once; cluster workers fetch it once per machine, content-addressed), an accumulator names a
// counter. On the worker, resolveEnv() swaps the references for the value / an `add` that records
// into the running task; the driver applies a task's updates once per partition, on its first
// successful attempt, so retries and speculative copies never double count.
import { checkRecords } from './record-values.js'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'

export const BROADCAST_TAG = '__syBroadcast'
export const ACCUMULATOR_TAG = '__syAccumulator'

/** A read-only value shipped once per worker; use `bc.value` inside functions (pass `bc` in env). */
export class Broadcast<T> {
  readonly [BROADCAST_TAG] = 1
  readonly id: string
  /** File holding the v8-serialised value (driver's machine; cluster mode ships it). */
  readonly path: string
  readonly digest: string
  readonly #value: T

  constructor(id: string, dir: string, value: T) {
    checkRecords(value, 'broadcast')
    const bytes = serialize(value)
    this.id = id
    this.digest = createHash('sha256').update(bytes).digest('hex')
    mkdirSync(dir, { recursive: true })
    this.path = join(dir, `${this.digest}.v8`)
    if (!existsSync(this.path)) writeFileSync(this.path, bytes)
    this.#value = value
  }

  get value(): T {
    return this.#value
  }
}

/** A numeric sum that tasks add to; the driver reads `acc.value` after an action. */
export class Accumulator {
  readonly [ACCUMULATOR_TAG] = 1
  readonly id: string
  #value: number

  constructor(id: string, initial: number) {
    this.id = id
    this.#value = initial
  }

  get value(): number {
    return this.#value
  }

  /** Driver-side add; inside tasks the worker's stand-in records the update for the driver. */
  add(n: number): void {
    this.#value += n
  }
}

// ---- worker side ----

const broadcastValues = new Map<string, unknown>()
const taskUpdates = new Map<string, Record<string, number>>()
/** Broadcast files read by this process (tests check "once per worker"). */
export const broadcastReads = { count: 0 }

function isTagged(v: unknown, tag: string): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && (v as Record<string, unknown>)[tag] === 1
}

/** Replaces broadcast and accumulator references in `env` with their worker-side stand-ins. */
export function resolveEnv(env: unknown, taskId: string): unknown {
  if (env === null || typeof env !== 'object' || ArrayBuffer.isView(env) || env instanceof Map || env instanceof Set || env instanceof Date) return env
  if (isTagged(env, BROADCAST_TAG)) {
    const digest = String(env.digest)
    if (!broadcastValues.has(digest)) {
      broadcastValues.set(digest, deserialize(readFileSync(String(env.path))))
      broadcastReads.count++
    }
    return Object.freeze({ id: env.id, value: broadcastValues.get(digest) })
  }
  if (isTagged(env, ACCUMULATOR_TAG)) {
    const id = String(env.id)
    return Object.freeze({
      id,
      add(n: number): void {
        let u = taskUpdates.get(taskId)
        if (u === undefined) taskUpdates.set(taskId, (u = {}))
        u[id] = (u[id] ?? 0) + n
      },
    })
  }
  if (Array.isArray(env)) return env.map((v) => resolveEnv(v, taskId))
  if (Object.getPrototypeOf(env) !== Object.prototype && Object.getPrototypeOf(env) !== null) return env
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(env)) out[k] = resolveEnv(v, taskId)
  return out
}

/** The accumulator updates a task made (removed from the registry). */
export function takeTaskUpdates(taskId: string): Record<string, number> | undefined {
  const u = taskUpdates.get(taskId)
  taskUpdates.delete(taskId)
  return u
}
