// Runs one task on a worker: compiles the stage's plan, pulls batches of records through the
// pipelined narrow operators (one array per batch, no per-record promises), and writes the result
// (task-output.ts): shuffle map output, a value for the driver, or a part file of a save.
import { join } from 'node:path'
import { compileFn, type CompiledFn } from './closure.js'
import { chain } from './narrow-chain.js'
import { PartitionRecords } from './partition-records.js'
import type { ShuffleBlockStore, ShuffleFetcher } from './shuffle-store.js'
import { readShuffle, shuffled } from './shuffled-input.js'
import { resolveEnv, takeTaskUpdates } from './shared-vars.js'
import { BATCH, type Batches, type Counters, type Emit } from './task-batches.js'
import { readCached, readCheckpoint, readParallelize, readRange, readText } from './task-sources.js'
import { runOutput } from './task-output.js'
import type { FnSpec, PlanInput, PlanNode, TaskDescription, TaskMetrics, TaskResult } from './task-spec.js'

export interface WorkerServices {
  readonly store: ShuffleBlockStore
  readonly fetcher: ShuffleFetcher
}

export interface TaskOutcome {
  readonly result: TaskResult
  readonly metrics: TaskMetrics
}

/** One running task's state: its description, compiled functions, counters, cached blocks. */
export class TaskContext {
  readonly task: TaskDescription
  readonly services: WorkerServices
  readonly fns = new Map<number, CompiledFn>()
  readonly counters: Counters = { recordsIn: 0, recordsOut: 0, bytesRead: 0, shuffleWriteBytes: 0, shuffleReadBytes: 0, spillBytes: 0 }
  readonly spillDir: string
  /** Set by the output writers when a fused stage (fused/index.ts) produced the output. */
  fusedStage: string | undefined = undefined

  constructor(task: TaskDescription, services: WorkerServices) {
    this.task = task
    this.services = services
    this.spillDir = join(task.scratchDir, 'spill')
  }

  /** Persisted partitions this task stored or read (`cacheKey:partition`). */
  readonly cachedBlocks: string[] = []

  /** compileFn plus broadcast / accumulator references in env resolved for this task. */
  async compileFn(spec: FnSpec): Promise<CompiledFn> {
    const c = await compileFn(spec)
    return c.env === undefined ? c : { fn: c.fn, env: resolveEnv(c.env, this.task.taskId) }
  }

  async compile(node: PlanNode): Promise<void> {
    if ('fn' in node) this.fns.set(node.id, await this.compileFn(node.fn as FnSpec))
    const inputs: PlanInput[] = []
    if ('input' in node) inputs.push(node.input)
    if ('inputs' in node) inputs.push(...node.inputs)
    if (node.op === 'cartesian') inputs.push(node.left, node.right)
    for (const i of inputs) if (i.kind === 'narrow') await this.compile(i.node)
  }

  fn(node: PlanNode): CompiledFn {
    return this.fns.get(node.id) as CompiledFn
  }

  input(input: PlanInput, p: number): Batches {
    return input.kind === 'narrow' ? this.compute(input.node, p) : readShuffle(this, input.shuffleId, p)
  }

  /** Pushes every record of partition p of `node` into `sink`. */
  async drive(node: PlanNode, p: number, sink: Emit): Promise<void> {
    const fused = chain(this.fns, node, p, sink)
    if (fused === null) {
      for await (const b of this.compute(node, p)) for (let i = 0; i < b.length; i++) sink(b[i])
      return
    }
    const push = fused.push
    for await (const b of this.input(fused.base, p)) for (let i = 0; i < b.length; i++) push(b[i])
  }

  async *compute(node: PlanNode, p: number): Batches {
    let out: unknown[] = []
    const fused = chain(this.fns, node, p, (x) => { out.push(x) })
    if (fused !== null) {
      const push = fused.push
      for await (const b of this.input(fused.base, p)) {
        for (let i = 0; i < b.length; i++) push(b[i])
        if (out.length > 0) { yield out; out = [] }
      }
      return
    }
    switch (node.op) {
      case 'text':
        yield* readText(node, p, this.counters)
        return
      case 'parallelize':
        yield* readParallelize(node, p, this.counters)
        return
      case 'range':
        yield* readRange(node, p, this.counters)
        return
      case 'mapPartitions': {
        const { fn, env } = this.fn(node)
        const result = (await fn(new PartitionRecords(this.input(node.input, p)), env, p)) as Iterable<unknown> | AsyncIterable<unknown>
        if (Array.isArray(result)) {
          for (let i = 0; i < result.length; i += BATCH) yield result.slice(i, i + BATCH)
          return
        }
        let out: unknown[] = []
        for await (const x of result) {
          out.push(x)
          if (out.length >= BATCH) { yield out; out = [] }
        }
        if (out.length > 0) yield out
        return
      }
      case 'union': {
        let q = p
        for (let i = 0; i < node.inputs.length; i++) {
          const n = node.counts[i] as number
          if (q < n) { yield* this.input(node.inputs[i] as PlanInput, q); return }
          q -= n
        }
        return
      }
      case 'coalesce':
        for (const q of node.groups[p] ?? []) yield* this.input(node.input, q)
        return
      case 'cartesian': {
        const right: unknown[] = []
        for await (const b of this.input(node.right, p % node.rightPartitions)) for (const x of b) right.push(x)
        for await (const b of this.input(node.left, Math.floor(p / node.rightPartitions))) {
          let out: unknown[] = []
          for (const l of b) {
            for (const r of right) out.push([l, r])
            if (out.length >= BATCH) { yield out; out = [] }
          }
          if (out.length > 0) yield out
        }
        return
      }
      case 'shuffled':
        yield* shuffled(this, node, p)
        return
      case 'cached':
        yield* readCached(node, p, this.task.scratchDir, this.cachedBlocks, () => this.input(node.input, p))
        return
      case 'checkpointed':
        yield* readCheckpoint(node, p, this.counters)
        return
    }
  }
}

/** Runs one task to completion. Throws on failure (FetchFailedError for lost shuffle blocks). */
export async function runTask(task: TaskDescription, services: WorkerServices): Promise<TaskOutcome> {
  const started = performance.now()
  const ctx = new TaskContext(task, services)
  try {
    await ctx.compile(task.plan)
    const result = await runOutput(ctx)
    const accumulators = takeTaskUpdates(task.taskId)
    return {
      result,
      metrics: {
        ...ctx.counters,
        durationMs: performance.now() - started,
        ...(ctx.cachedBlocks.length > 0 ? { cachedBlocks: ctx.cachedBlocks } : {}),
        ...(accumulators === undefined ? {} : { accumulators }),
        ...(ctx.fusedStage === undefined ? {} : { fused: ctx.fusedStage }),
      },
    }
  } finally {
    // A failed attempt's accumulator updates are dropped: only successful tasks count.
    takeTaskUpdates(task.taskId)
  }
}
