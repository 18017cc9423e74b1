// Runs one task on a worker: compiles the stage's plan, pulls batches of records through the
// pipelined narrow operators (one array per batch, no per-record promises), and writes the result:
// shuffle map output, a value for the driver, or a part file of a save.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { compileAggregator, ExternalAggregator } from './aggregator.js'
import { compileFn, type CompiledFn } from './closure.js'
import { ExternalSorter } from './external-sort.js'
import { decodeFrames, encodeFrame, RAW_COUNT_FRAME } from './frames.js'
import { compilePartitioner } from './partitioner.js'
import { CountFrameSink, matchWordCount, runWordCount, StringSink } from './fused/word-count.js'
import { RawFrameBuilders } from './fused/raw-frames.js'
import { matchSumSave, runSumSave } from './fused/sum-save.js'
import { warmUpWordCount } from './fused/warm-up.js'
import { matchSortMap, matchSortReduce, runSortMap, runSortReduce } from './fused/sort.js'
import type { ShuffleBlockStore, ShuffleFetcher } from './shuffle-store.js'
import type { FnSpec, PlanInput, PlanNode, TaskDescription, TaskMetrics, TaskResult } from './task.js'
import { csvRecordParser, readSplitLines } from './text-input.js'
import { partitionCache } from './cache-store.js'
import { resolveEnv, takeTaskUpdates } from './shared-vars.js'
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8'
import { prng } from '../internal/prng.js'

export interface WorkerServices {
  readonly store: ShuffleBlockStore
  readonly fetcher: ShuffleFetcher
}

export interface TaskOutcome {
  readonly result: TaskResult
  readonly metrics: TaskMetrics
}

interface Counters {
  recordsIn: number
  recordsOut: number
  bytesRead: number
  shuffleWriteBytes: number
  shuffleReadBytes: number
  spillBytes: number
}

type Batches = AsyncGenerator<unknown[]>
type Emit = (x: unknown) => void

const SIMPLE = new Set<string>(['map', 'flatMap', 'filter', 'mapValues', 'flatMapValues', 'keyBy', 'keys', 'values', 'tagged', 'zipWithIndex', 'sample'])

const BATCH = 4096

class TaskContext {
  readonly task: TaskDescription
  readonly services: WorkerServices
  readonly fns = new Map<number, CompiledFn>()
  readonly counters: Counters = { recordsIn: 0, recordsOut: 0, bytesRead: 0, shuffleWriteBytes: 0, shuffleReadBytes: 0, spillBytes: 0 }
  readonly spillDir: string

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
    return input.kind === 'narrow' ? this.compute(input.node, p) : this.readShuffle(input.shuffleId, p)
  }

  /** Records of a shuffle's reduce partition `p`: flat [k, v, k, v, ...] batches. */
  async *readShuffle(shuffleId: number, p: number): Batches {
    const locations = this.task.shuffleInputs[shuffleId]
    if (locations === undefined) throw new Error(`Task has no locations for shuffle ${shuffleId}`)
    for (const loc of locations) {
      if ((loc.sizes[p] ?? 0) === 0) continue
      for await (const chunk of this.services.fetcher.fetch(shuffleId, loc, p)) {
        this.counters.shuffleReadBytes += chunk.length
        const out: unknown[][] = []
        decodeFrames(chunk, (flat) => out.push(flat))
        for (const flat of out) yield flat
      }
    }
  }

  /** Pairs from a shuffle as [k, v] tuples. */
  async *pairsOf(input: PlanInput, p: number): AsyncGenerator<[unknown, unknown][]> {
    if (input.kind === 'narrow') {
      yield* this.compute(input.node, p) as AsyncGenerator<[unknown, unknown][]>
      return
    }
    for await (const flat of this.readShuffle(input.shuffleId, p)) {
      const out: [unknown, unknown][] = new Array(flat.length >> 1)
      for (let i = 0, j = 0; i < flat.length; i += 2, j++) out[j] = [flat[i], flat[i + 1]]
      yield out
    }
  }

  /**
   * Fuses a run of record-at-a-time operators (map, flatMap, filter, ...) into one push function,
   * so a batch flows through the whole chain without an intermediate array per operator.
   */
  chain(node: PlanNode, p: number, sink: Emit): { push: Emit; base: PlanInput } | null {
    if (!SIMPLE.has(node.op)) return null
    let push = sink
    let cur: PlanNode = node
    for (;;) {
      push = this.stage(cur, p, push)
      const input = (cur as { input: PlanInput }).input
      if (input.kind === 'narrow' && SIMPLE.has(input.node.op)) { cur = input.node; continue }
      return { push, base: input }
    }
  }

  stage(node: PlanNode, p: number, next: Emit): Emit {
    switch (node.op) {
      case 'map': { const { fn, env } = this.fn(node); return (x) => next(fn(x, env)) }
      case 'filter': { const { fn, env } = this.fn(node); return (x) => { if (fn(x, env)) next(x) } }
      case 'flatMap': {
        const { fn, env } = this.fn(node)
        return (x) => {
          const r = fn(x, env) as Iterable<unknown>
          if (Array.isArray(r)) for (let j = 0; j < r.length; j++) next(r[j])
          else for (const y of r) next(y)
        }
      }
      case 'mapValues': { const { fn, env } = this.fn(node); return (x) => { const r = x as [unknown, unknown]; next([r[0], fn(r[1], env)]) } }
      case 'flatMapValues': {
        const { fn, env } = this.fn(node)
        return (x) => { const r = x as [unknown, unknown]; for (const y of fn(r[1], env) as Iterable<unknown>) next([r[0], y]) }
      }
      case 'keyBy': { const { fn, env } = this.fn(node); return (x) => next([fn(x, env), x]) }
      case 'keys': return (x) => next((x as unknown[])[0])
      case 'values': return (x) => next((x as unknown[])[1])
      case 'tagged': { const tag = node.tag ?? 0; return (x) => { const r = x as [unknown, unknown]; next([r[0], [tag, r[1]]]) } }
      case 'zipWithIndex': { let i = node.offsets[p] ?? 0; return (x) => next([x, i++]) }
      case 'sample': {
        const rand = prng(node.seed * 1_000_003 + p)
        const f = node.fraction
        if (!node.withReplacement) return (x) => { if (rand() < f) next(x) }
        return (x) => {
          // Poisson(fraction) copies by inversion.
          let k = 0
          let prob = Math.exp(-f)
          let cum = prob
          const u = rand()
          while (u > cum && k < 1000) { k++; prob *= f / k; cum += prob }
          for (let j = 0; j < k; j++) next(x)
        }
      }
      default: throw new Error(`Operator ${node.op} cannot be fused`)
    }
  }

  /** Pushes every record of partition p of `node` into `sink`. */
  async drive(node: PlanNode, p: number, sink: Emit): Promise<void> {
    const fused = this.chain(node, p, sink)
    if (fused === null) {
      for await (const b of this.compute(node, p)) for (let i = 0; i < b.length; i++) sink(b[i])
      return
    }
    const push = fused.push
    for await (const b of this.input(fused.base, p)) for (let i = 0; i < b.length; i++) push(b[i])
  }

  async *compute(node: PlanNode, p: number): Batches {
    const c = this.counters
    let out: unknown[] = []
    const fused = this.chain(node, p, (x) => { out.push(x) })
    if (fused !== null) {
      const push = fused.push
      for await (const b of this.input(fused.base, p)) {
        for (let i = 0; i < b.length; i++) push(b[i])
        if (out.length > 0) { yield out; out = [] }
      }
      return
    }
    switch (node.op) {
      case 'text': {
        const splits = node.splits[p] ?? []
        const parse = node.format === 'json' ? (l: string) => JSON.parse(l) as unknown : node.format === 'csv' && node.csv ? csvRecordParser(node.csv) : null
        const onBytes = (n: number): void => { c.bytesRead += n }
        for (const split of splits) {
          let first = true
          for await (const lines of readSplitLines(split, onBytes)) {
            let ls = lines
            if (node.format === 'csv' && node.csv?.header === true && first && split.start === 0) ls = lines.slice(1)
            first = false
            if (parse === null) { c.recordsIn += ls.length; yield ls; continue }
            const out: unknown[] = []
            for (const l of ls) if (l.length > 0) out.push(parse(l))
            c.recordsIn += out.length
            yield out
          }
        }
        return
      }
      case 'parallelize': {
        const slice = node.slices[p] ?? []
        c.recordsIn += slice.length
        for (let i = 0; i < slice.length; i += BATCH) yield slice.slice(i, i + BATCH)
        return
      }
      case 'range': {
        const total = Math.max(0, Math.ceil((node.end - node.start) / node.step))
        const from = Math.floor((total * p) / node.partitions)
        const to = Math.floor((total * (p + 1)) / node.partitions)
        for (let i = from; i < to; i += BATCH) {
          const n = Math.min(BATCH, to - i)
          const out = new Array<number>(n)
          for (let j = 0; j < n; j++) out[j] = node.start + (i + j) * node.step
          c.recordsIn += n
          yield out
        }
        return
      }
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
        yield* this.shuffled(node, p)
        return
      case 'cached': {
        const key = `${node.cacheKey}-${p}`
        const hit = partitionCache.get(key, node.level, this.task.scratchDir)
        if (hit !== undefined) {
          this.cachedBlocks.push(`${node.cacheKey}:${p}`)
          for (let i = 0; i < hit.length; i += BATCH) yield hit.slice(i, i + BATCH)
          return
        }
        const all: unknown[] = []
        for await (const b of this.input(node.input, p)) {
          for (let i = 0; i < b.length; i++) all.push(b[i])
          yield b
        }
        // Reached only when the partition was read to the end (take() may stop early).
        if (partitionCache.put(key, all, node.level, this.task.scratchDir, node.budgetBytes)) this.cachedBlocks.push(`${node.cacheKey}:${p}`)
        return
      }
      case 'checkpointed': {
        const file = node.files[p]
        if (file === undefined) return
        const buf = readFileSync(file)
        c.bytesRead += buf.length
        const all = v8Deserialize(buf) as unknown[]
        c.recordsIn += all.length
        for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH)
        return
      }
    }
  }

  async *shuffled(node: Extract<PlanNode, { op: 'shuffled' }>, p: number): Batches {
    const budget = this.task.memoryBudgetBytes
    let source: AsyncGenerator<[unknown, unknown][]> | Generator<[unknown, unknown][]>
    const self = this
    async function* allPairs(): AsyncGenerator<[unknown, unknown][]> {
      for (let i = 0; i < node.inputs.length; i++) {
        const input = node.inputs[i] as PlanInput
        if (node.aggregator?.kind === 'cogroup' && input.kind === 'narrow') {
          // Co-partitioned input read in place: tag it here (shuffled inputs were tagged map-side).
          for await (const b of self.pairsOf(input, p)) yield b.map(([k, v]) => [k, [i, v]] as [unknown, unknown])
        } else yield* self.pairsOf(input, p)
      }
    }
    if (node.aggregator !== undefined) {
      const agg = new ExternalAggregator(await compileAggregator(node.aggregator), budget, this.spillDir)
      for await (const b of allPairs()) {
        if (node.combined === true) for (const [k, v] of b) agg.insertCombiner(k, v)
        else for (const [k, v] of b) agg.insertValue(k, v)
      }
      source = agg.results()
      if (node.sort === undefined) {
        yield* source
        this.counters.spillBytes += agg.spillBytes
        return
      }
      const sorter = new ExternalSorter(node.sort.ascending, budget, this.spillDir)
      for (const b of source) for (const [k, v] of b) sorter.insert(k, v)
      this.counters.spillBytes += agg.spillBytes
      yield* sorter.results()
      this.counters.spillBytes += sorter.spillBytes
      return
    }
    if (node.sort !== undefined) {
      const sorter = new ExternalSorter(node.sort.ascending, budget, this.spillDir)
      for await (const b of allPairs()) for (let i = 0; i < b.length; i++) sorter.insertPair(b[i] as [unknown, unknown])
      yield* sorter.results()
      this.counters.spillBytes += sorter.spillBytes
      return
    }
    yield* allPairs()
  }
}

/**
 * The records of a partition as mapPartitions sees them: steps through the input's batches with one
 * settled promise per record instead of an async generator resuming per record (3x cheaper), and
 * closes the input when the consumer stops early. Iterates once, like the generator it replaces.
 * `batches()` hands out the input's arrays themselves: one await per batch instead of per record.
 */
class PartitionRecords implements AsyncIterableIterator<unknown> {
  readonly #src: Batches
  #batch: unknown[] = []
  #i = 0

  constructor(src: Batches) {
    this.#src = src
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<unknown>> {
    const b = this.#batch
    return this.#i < b.length ? Promise.resolve({ done: false, value: b[this.#i++] }) : this.#pull()
  }

  async #pull(): Promise<IteratorResult<unknown>> {
    for (;;) {
      const r = await this.#src.next()
      if (r.done === true) return { done: true, value: undefined }
      this.#batch = r.value
      this.#i = 0
      if (this.#batch.length > 0) return { done: false, value: this.#batch[this.#i++] }
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#batch = []
    await this.#src.return(undefined)
    return { done: true, value: undefined }
  }

  /** The remaining records as arrays (records already taken with next() are not repeated). */
  async *batches(): AsyncGenerator<readonly unknown[]> {
    const rest = this.#batch.slice(this.#i)
    this.#batch = []
    this.#i = 0
    if (rest.length > 0) yield rest
    for (;;) {
      const r = await this.#src.next()
      if (r.done === true) return
      if (r.value.length > 0) yield r.value
    }
  }
}

async function writeShuffle(ctx: TaskContext, output: Extract<TaskDescription['output'], { kind: 'shuffle' }>): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const n = output.partitioner.partitions
  const budget = task.memoryBudgetBytes
  const fusedSort = matchSortMap(task.plan, task.partition, output)
  if (fusedSort !== null) {
    // Whole-stage fused sort map side (fused/sort.ts); non-ASCII input starts over below.
    const w = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
    const saved = { ...c }
    let done = false
    try {
      done = runSortMap(fusedSort, w, budget / 4, c)
    } finally {
      if (!done) w.abort()
    }
    if (done) {
      const sizes = w.commit()
      for (const s of sizes) c.shuffleWriteBytes += s
      return { kind: 'map-status', sizes }
    }
    Object.assign(c, saved)
  }
  const part = await compilePartitioner(output.partitioner)
  const writer = ctx.services.store.createMapOutput(output.shuffleId, task.partition, task.attempt, n)
  try {
    const buffers: unknown[][] = Array.from({ length: n }, () => [])
    const emit = (k: unknown, v: unknown): void => {
      const r = part(k)
      const b = buffers[r] as unknown[]
      b.push(k, v)
      if (b.length >= BATCH * 2) {
        writer.append(r, encodeFrame(b))
        buffers[r] = []
        if (writer.bufferedBytes > budget / 4) writer.flush()
      }
    }
    const fusedWc = matchWordCount(task.plan, task.partition, output.combine)
    if (fusedWc !== null && output.partitioner.kind === 'hash') {
      // Whole-stage fused word count (fused/word-count.ts): same pairs, byte-level loop, raw count frames.
      await warmUpWordCount()
      const frames = new RawFrameBuilders(writer, n, RAW_COUNT_FRAME, budget / 4)
      runWordCount(fusedWc, budget / 2, c, new CountFrameSink(frames, n, fusedWc.value))
      frames.finish()
    } else if (fusedWc !== null) {
      runWordCount(fusedWc, budget / 2, c, new StringSink(emit, fusedWc.value))
    } else if (output.combine !== undefined) {
      const agg = new ExternalAggregator(await compileAggregator(output.combine), budget / 2, ctx.spillDir)
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; agg.insertValue(r[0], r[1]) })
      for (const b of agg.results()) for (const [k, v] of b) { emit(k, v); c.recordsOut++ }
      c.spillBytes += agg.spillBytes
    } else {
      await ctx.drive(task.plan, task.partition, (x) => { const r = x as [unknown, unknown]; emit(r[0], r[1]); c.recordsOut++ })
    }
    for (let r = 0; r < n; r++) {
      const b = buffers[r] as unknown[]
      if (b.length > 0) writer.append(r, encodeFrame(b))
    }
    const sizes = writer.commit()
    for (const s of sizes) c.shuffleWriteBytes += s
    return { kind: 'map-status', sizes }
  } catch (err) {
    writer.abort()
    throw err
  }
}

async function writeSave(ctx: TaskContext, output: Extract<TaskDescription['output'], { kind: 'save' }>): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const dir = join(output.dir, '_attempts', `${task.partition}-${task.attempt}`)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `part-${String(task.partition).padStart(5, '0')}`)
  const fd = openSync(file, 'w')
  try {
    const fusedSort = matchSortReduce(task.plan, output)
    if (fusedSort !== null) {
      // Whole-stage fused sort reduce side (fused/sort.ts); false = nothing written, run the generic path.
      const locations = task.shuffleInputs[fusedSort.shuffleId] ?? []
      if (await runSortReduce(fusedSort, { locations, partition: task.partition, fetcher: ctx.services.fetcher, budgetBytes: task.memoryBudgetBytes, fd, counters: c })) return { kind: 'saved', file }
    }
    const fusedSum = matchSumSave(task.plan, output)
    if (fusedSum !== null) {
      // Fused reduce side of the word count (fused/sum-save.ts); false = nothing written, run the generic path.
      const locations = task.shuffleInputs[fusedSum.shuffleId] ?? []
      await warmUpWordCount()
      if (await runSumSave(fusedSum, { locations, partition: task.partition, fetcher: ctx.services.fetcher, budgetBytes: task.memoryBudgetBytes, fd, counters: c })) return { kind: 'saved', file }
    }
    let pending = ''
    for await (const b of ctx.compute(task.plan, task.partition)) {
      const lines = new Array<string>(b.length)
      for (let i = 0; i < b.length; i++) {
        const x = b[i]
        lines[i] = output.format === 'text' && typeof x === 'string' ? x : JSON.stringify(x)
      }
      c.recordsOut += b.length
      if (b.length > 0) pending += `${lines.join('\n')}\n`
      if (pending.length >= 1 << 20) { writeSync(fd, pending); pending = '' }
    }
    if (pending.length > 0) writeSync(fd, pending)
  } finally {
    closeSync(fd)
  }
  return { kind: 'saved', file }
}

async function runOutput(ctx: TaskContext): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const output = task.output
  const records = (): Batches => ctx.compute(task.plan, task.partition)
  switch (output.kind) {
    case 'shuffle': return writeShuffle(ctx, output)
    case 'save': return writeSave(ctx, output)
    case 'checkpoint': {
      const all: unknown[] = []
      for await (const b of records()) for (let i = 0; i < b.length; i++) all.push(b[i])
      mkdirSync(output.dir, { recursive: true })
      const file = join(output.dir, `part-${String(task.partition).padStart(5, '0')}.v8`)
      const tmp = `${file}.${task.attempt}.${process.pid}.tmp`
      writeFileSync(tmp, v8Serialize(all))
      renameSync(tmp, file)
      c.recordsOut = all.length
      return { kind: 'saved', file }
    }
    case 'collect': {
      const all: unknown[] = []
      for await (const b of records()) for (let i = 0; i < b.length; i++) all.push(b[i])
      c.recordsOut = all.length
      return { kind: 'value', value: all }
    }
    case 'count': {
      let n = 0
      await ctx.drive(task.plan, task.partition, () => { n++ })
      c.recordsOut = n
      return { kind: 'value', value: n }
    }
    case 'take': {
      const out: unknown[] = []
      if (output.n > 0) {
        for await (const b of records()) {
          for (const x of b) { out.push(x); if (out.length >= output.n) break }
          if (out.length >= output.n) break
        }
      }
      c.recordsOut = out.length
      return { kind: 'value', value: out }
    }
    case 'fold': {
      const { fn, env } = await ctx.compileFn(output.fn)
      let acc: unknown = output.hasZero ? structuredCloneIfObject(output.zero) : undefined
      let has = output.hasZero
      for await (const b of records()) {
        for (const x of b) {
          if (!has) { acc = x; has = true } else acc = fn(acc, x, env)
        }
      }
      return { kind: 'value', value: { has, acc } }
    }
    case 'foreach': {
      const { fn, env } = await ctx.compileFn(output.fn)
      for await (const b of records()) for (const x of b) fn(x, env)
      return { kind: 'value', value: null }
    }
    case 'sample-keys': {
      const rand = prng(output.seed * 7919 + task.partition)
      const keyFn = output.keyFn === undefined ? null : await compileFn(output.keyFn)
      const limit = output.maxRecords ?? output.size * 100
      const sample: unknown[] = []
      let seen = 0
      for await (const b of records()) {
        for (const x of b) {
          const k = keyFn === null ? (x as [unknown, unknown])[0] : keyFn.fn(x, keyFn.env)
          seen++
          if (sample.length < output.size) sample.push(k)
          else {
            const j = Math.floor(rand() * seen)
            if (j < output.size) sample[j] = k
          }
        }
        if (seen >= limit) break
      }
      return { kind: 'value', value: { sample, count: seen } }
    }
  }
}

function structuredCloneIfObject(z: unknown): unknown {
  return z !== null && typeof z === 'object' ? structuredClone(z) : z
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
      },
    }
  } finally {
    // A failed attempt's accumulator updates are dropped: only successful tasks count.
    takeTaskUpdates(task.taskId)
  }
}
