// The typed dataset API (Spark's RDD): lazy transformations build lineage, actions run jobs.
// A dataset of pairs (`Dataset<readonly [K, V]>`) gets the by-key operators; their `this` type
// carries K and V through, so results stay typed end to end.
import { builtin, compileFn, toFnSpec } from './closure.js'
import type { CustomPartitioner, Engine, FnOptions, PartitionRecords, Shaped, ShuffleOptions, Widen } from './dataset-types.js'
import { JobError, JobErrorCodes } from './errors.js'
import { deriveNode, type DeriveOptions, type LNode, type PlanBuilder } from './lineage.js'
import { samePartitioner } from './partitioner.js'
import { cogroupNode, combineNode, partitionByNode, sortByKeyNode } from './shuffle-lineage.js'
import type { AggregatorSpec, FnSpec, PartitionerSpec, PlanNode, StorageLevel } from './task-spec.js'

export type { CustomPartitioner, Engine, FnOptions, PartitionRecords, Shaped, ShuffleOptions } from './dataset-types.js'

export type PairDataset<K, V> = Dataset<readonly [K, V]>

const clone = (z: unknown): unknown => (z !== null && typeof z === 'object' ? structuredClone(z) : z)

export class Dataset<T> {
  /** @internal */
  readonly node: LNode
  readonly #engine: Engine

  /** @internal Datasets are made by a Context and by operators. */
  constructor(engine: Engine, node: LNode) {
    this.#engine = engine
    this.node = node
  }

  get partitions(): number {
    return this.node.partitions
  }

  get partitioner(): PartitionerSpec | undefined {
    return this.node.partitioner
  }

  // ---- persistence ----

  /**
   * Keeps computed partitions on the workers that computed them, so later actions reuse them:
   * MEMORY (LRU under the per-worker budget; evicted partitions are recomputed from lineage),
   * MEMORY_AND_DISK (evicted partitions are written to and read from disk), DISK, MEMORY_2 (MEMORY
   * on two workers, so a lost worker costs no recomputation). Returns this.
   */
  persist(level: StorageLevel = 'MEMORY'): this {
    this.#engine.persist(this.node, level)
    return this
  }

  /** persist('MEMORY'). */
  cache(): this {
    return this.persist('MEMORY')
  }

  /** Stops using persisted partitions (workers' LRU frees the memory). Returns this. */
  unpersist(): this {
    this.#engine.persist(this.node, undefined)
    return this
  }

  get storageLevel(): StorageLevel | undefined {
    return this.node.storage?.level
  }

  /**
   * Writes every partition to the checkpoint directory (runs a job now) and cuts the lineage: later
   * jobs read the files instead of recomputing parents. Cluster mode needs a shared checkpointDir.
   */
  async checkpoint(): Promise<this> {
    await this.#engine.checkpoint(this.node)
    return this
  }

  get isCheckpointed(): boolean {
    return this.node.checkpointFiles !== undefined
  }

  #derive<U>(name: string, build: (b: PlanBuilder, id: number) => PlanNode, extra: DeriveOptions = {}): Dataset<U> {
    return new Dataset<U>(this.#engine, deriveNode(this.#engine.nextId(), this.node, name, build, extra))
  }

  #fnOp<U>(op: 'map' | 'flatMap' | 'filter' | 'mapValues' | 'flatMapValues' | 'keyBy' | 'mapPartitions', fn: FnSpec, keepPartitioner = false): Dataset<U> {
    const parent = this.node
    return this.#derive<U>(op, (b, id) => ({ id, partitions: parent.partitions, op, input: b.narrow(parent), fn } as PlanNode), {
      partitioner: keepPartitioner ? parent.partitioner : undefined,
    })
  }

  // ---- narrow transformations ----

  map<U, E = undefined>(fn: (x: T, env: E) => U, options?: FnOptions<E>): Dataset<Shaped<U>> {
    return this.#fnOp('map', toFnSpec(fn, { what: 'map', env: options?.env }))
  }

  flatMap<U, E = undefined>(fn: (x: T, env: E) => Iterable<U>, options?: FnOptions<E>): Dataset<Shaped<U>> {
    return this.#fnOp('flatMap', toFnSpec(fn, { what: 'flatMap', env: options?.env }))
  }

  filter<E = undefined>(fn: (x: T, env: E) => unknown, options?: FnOptions<E>): Dataset<T> {
    return this.#fnOp('filter', toFnSpec(fn, { what: 'filter', env: options?.env }), true)
  }

  /**
   * `fn(records, env, partitionIndex)` gets the partition as an async iterable (with `.batches()`
   * for arrays of records, see PartitionRecords) and returns an iterable, async iterable or array
   * (an async generator is the natural form).
   */
  mapPartitions<U, E = undefined>(fn: (records: PartitionRecords<T>, env: E, partition: number) => Iterable<U> | AsyncIterable<U> | Promise<U[]>, options?: FnOptions<E>): Dataset<Shaped<U>> {
    return this.#fnOp('mapPartitions', toFnSpec(fn, { what: 'mapPartitions', env: options?.env }))
  }

  keyBy<K, E = undefined>(fn: (x: T, env: E) => K, options?: FnOptions<E>): Dataset<readonly [Widen<K>, T]> {
    return this.#fnOp('keyBy', toFnSpec(fn, { what: 'keyBy', env: options?.env }))
  }

  mapValues<K, V, U, E = undefined>(this: Dataset<readonly [K, V]>, fn: (v: V, env: E) => U, options?: FnOptions<E>): Dataset<readonly [K, Widen<U>]> {
    return this.#fnOp('mapValues', toFnSpec(fn, { what: 'mapValues', env: options?.env }), true)
  }

  flatMapValues<K, V, U, E = undefined>(this: Dataset<readonly [K, V]>, fn: (v: V, env: E) => Iterable<U>, options?: FnOptions<E>): Dataset<readonly [K, Widen<U>]> {
    return this.#fnOp('flatMapValues', toFnSpec(fn, { what: 'flatMapValues', env: options?.env }), true)
  }

  keys<K, V>(this: Dataset<readonly [K, V]>): Dataset<K> {
    const parent = this.node
    return this.#derive<K>('keys', (b, id) => ({ id, partitions: parent.partitions, op: 'keys', input: b.narrow(parent) }))
  }

  values<K, V>(this: Dataset<readonly [K, V]>): Dataset<V> {
    const parent = this.node
    return this.#derive<V>('values', (b, id) => ({ id, partitions: parent.partitions, op: 'values', input: b.narrow(parent) }))
  }

  union(...others: Dataset<T>[]): Dataset<T> {
    const nodes = [this.node, ...others.map((o) => o.node)]
    const counts = nodes.map((n) => n.partitions)
    const total = counts.reduce((a, b) => a + b, 0)
    return this.#derive<T>('union', (b, id) => ({ id, partitions: total, op: 'union', inputs: nodes.map((n) => b.narrow(n)), counts }), { partitions: total, parents: nodes })
  }

  /** Bernoulli (or Poisson with replacement) sample; deterministic for a given seed. */
  sample(withReplacement: boolean, fraction: number, seed: number = Date.now() % 1_000_000_007): Dataset<T> {
    if (!(fraction >= 0) || (!withReplacement && fraction > 1)) throw new JobError(JobErrorCodes.INVALID_ARGUMENT, `sample: invalid fraction ${fraction}`)
    const parent = this.node
    return this.#derive<T>('sample', (b, id) => ({ id, partitions: parent.partitions, op: 'sample', input: b.narrow(parent), fraction, withReplacement, seed }), { partitioner: parent.partitioner })
  }

  /** Pairs each element with its global index (runs a count job first when the index is needed). */
  zipWithIndex(): Dataset<readonly [T, number]> {
    const parent = this.node
    let offsets: number[] | null = null
    const prepare = async (): Promise<void> => {
      if (offsets !== null) return
      const counts = (await this.#engine.run(parent, { kind: 'count' }, 'zipWithIndex (count)')).map((r) => (r as { value: number }).value)
      const o: number[] = []
      let acc = 0
      for (const c of counts) { o.push(acc); acc += c }
      offsets = o
    }
    return this.#derive('zipWithIndex', (b, id) => ({ id, partitions: parent.partitions, op: 'zipWithIndex', input: b.narrow(parent), offsets: offsets ?? [] }), { prepare })
  }

  /** Fewer partitions without a shuffle (neighbouring partitions merged), or with one if `shuffle`. */
  coalesce(partitions: number, shuffle = false): Dataset<T> {
    if (shuffle) return this.repartition(partitions)
    const parent = this.node
    const n = Math.max(1, Math.min(partitions, parent.partitions))
    const groups: number[][] = []
    for (let i = 0; i < n; i++) {
      const g: number[] = []
      for (let q = Math.floor((i * parent.partitions) / n); q < Math.floor(((i + 1) * parent.partitions) / n); q++) g.push(q)
      groups.push(g)
    }
    return this.#derive<T>('coalesce', (b, id) => ({ id, partitions: n, op: 'coalesce', input: b.narrow(parent), groups }), { partitions: n })
  }

  /** Redistributes records evenly over `partitions` partitions (a shuffle). */
  repartition(partitions: number): Dataset<T> {
    const indexed = this.#derive<readonly [number, T]>('repartition', (b, id) => ({
      id,
      partitions: this.node.partitions,
      op: 'map',
      fn: builtin('(r) => [r[1], r[0]]'),
      input: { kind: 'narrow', node: { id: -id, partitions: this.node.partitions, op: 'zipWithIndex', input: b.narrow(this.node), offsets: new Array<number>(this.node.partitions).fill(0) } },
    }))
    const moved: Dataset<readonly [number, T]> = indexed.partitionBy(partitions)
    return moved.values()
  }

  /** All pairs (a, b); guarded: fails if count(this) x count(other) exceeds cartesianMaxPairs. */
  cartesian<U>(other: Dataset<U>): Dataset<readonly [T, U]> {
    const left = this.node
    const right = other.node
    const max = this.#engine.cartesianMaxPairs
    const prepare = async (): Promise<void> => {
      const [a, b] = await Promise.all([this.count(), other.count()])
      if (a * b > max) throw new JobError(JobErrorCodes.CARTESIAN_TOO_LARGE, `cartesian: ${a} x ${b} = ${a * b} pairs exceeds cartesianMaxPairs ${max}; raise the option if this is intended`)
    }
    const n = left.partitions * right.partitions
    return this.#derive('cartesian', (b, id) => ({ id, partitions: n, op: 'cartesian', left: b.narrow(left), right: b.narrow(right), rightPartitions: right.partitions }), { partitions: n, parents: [left, right], prepare })
  }

  distinct(options: ShuffleOptions = {}): Dataset<T> {
    const pairs = this.#fnOp<readonly [T, null]>('map', builtin('(x) => [x, null]'))
    const firsts: Dataset<readonly [T, null]> = pairs.#combine({ kind: 'first' }, true, 'distinct', options)
    return firsts.keys()
  }

  // ---- shuffles ----

  #combine<U>(agg: AggregatorSpec, mapSide: boolean, name: string, options: ShuffleOptions | PartitionerSpec): Dataset<U> {
    return new Dataset<U>(this.#engine, combineNode(this.#engine, this.node, agg, mapSide, name, options))
  }

  /** Moves pairs to partitions by key: a partition count (hash) or a custom partitioner. */
  partitionBy<K, V>(this: Dataset<readonly [K, V]>, partitioner: number | CustomPartitioner<K>): Dataset<readonly [K, V]> {
    const spec: PartitionerSpec =
      typeof partitioner === 'number'
        ? { kind: 'hash', partitions: partitioner }
        : { kind: 'custom', partitions: partitioner.partitions, fn: toFnSpec(partitioner.fn, { what: 'partitionBy', env: partitioner.env }) }
    const parent = this.node
    if (samePartitioner(parent.partitioner, spec)) return this
    return new Dataset(this.#engine, partitionByNode(this.#engine, parent, spec))
  }

  reduceByKey<K, V, E = undefined>(this: Dataset<readonly [K, V]>, fn: (a: V, b: V, env: E) => V, options: ShuffleOptions & FnOptions<E> = {}): Dataset<readonly [K, V]> {
    return this.#combine({ kind: 'reduce', fn: toFnSpec(fn, { what: 'reduceByKey', env: options.env }) }, true, 'reduceByKey', options)
  }

  foldByKey<K, V, E = undefined>(this: Dataset<readonly [K, V]>, zero: V, fn: (a: V, b: V, env: E) => V, options: ShuffleOptions & FnOptions<E> = {}): Dataset<readonly [K, V]> {
    return this.#combine({ kind: 'fold', zero, fn: toFnSpec(fn, { what: 'foldByKey', env: options.env }) }, true, 'foldByKey', options)
  }

  aggregateByKey<K, V, U, E = undefined>(this: Dataset<readonly [K, V]>, zero: U, seq: (acc: U, v: V, env: E) => U, comb: (a: U, b: U, env: E) => U, options: ShuffleOptions & FnOptions<E> = {}): Dataset<readonly [K, U]> {
    return this.#combine(
      { kind: 'aggregate', zero, seq: toFnSpec(seq, { what: 'aggregateByKey', env: options.env }), comb: toFnSpec(comb, { what: 'aggregateByKey', env: options.env }) },
      true,
      'aggregateByKey',
      options,
    )
  }

  combineByKey<K, V, C, E = undefined>(
    this: Dataset<readonly [K, V]>,
    create: (v: V, env: E) => C,
    mergeValue: (c: C, v: V, env: E) => C,
    mergeCombiners: (a: C, b: C, env: E) => C,
    options: ShuffleOptions & FnOptions<E> = {},
  ): Dataset<readonly [K, C]> {
    const o = { what: 'combineByKey', env: options.env }
    return this.#combine({ kind: 'combine', create: toFnSpec(create, o), mergeValue: toFnSpec(mergeValue, o), mergeCombiners: toFnSpec(mergeCombiners, o) }, true, 'combineByKey', options)
  }

  groupByKey<K, V>(this: Dataset<readonly [K, V]>, options: ShuffleOptions = {}): Dataset<readonly [K, V[]]> {
    return this.#combine({ kind: 'group' }, false, 'groupByKey', options)
  }

  /** For each key, one array of values per input: [key, [values of this, values of other, ...]]. */
  cogroup<K, V, W>(this: Dataset<readonly [K, V]>, other: Dataset<readonly [K, W]>, options: ShuffleOptions = {}): Dataset<readonly [K, readonly [V[], W[]]]> {
    return new Dataset(this.#engine, cogroupNode(this.#engine, [this.node, other.node], options))
  }

  join<K, V, W>(this: Dataset<readonly [K, V]>, other: Dataset<readonly [K, W]>, options: ShuffleOptions = {}): Dataset<readonly [K, readonly [V, W]]> {
    return this.cogroup(other, options).#fnOp('flatMapValues', builtin('(g) => { const o = []; for (const a of g[0]) for (const b of g[1]) o.push([a, b]); return o }'), true)
  }

  leftOuterJoin<K, V, W>(this: Dataset<readonly [K, V]>, other: Dataset<readonly [K, W]>, options: ShuffleOptions = {}): Dataset<readonly [K, readonly [V, W | undefined]]> {
    return this.cogroup(other, options).#fnOp(
      'flatMapValues',
      builtin('(g) => { const o = []; for (const a of g[0]) { if (g[1].length === 0) o.push([a, undefined]); else for (const b of g[1]) o.push([a, b]) } return o }'),
      true,
    )
  }

  rightOuterJoin<K, V, W>(this: Dataset<readonly [K, V]>, other: Dataset<readonly [K, W]>, options: ShuffleOptions = {}): Dataset<readonly [K, readonly [V | undefined, W]]> {
    return this.cogroup(other, options).#fnOp(
      'flatMapValues',
      builtin('(g) => { const o = []; for (const b of g[1]) { if (g[0].length === 0) o.push([undefined, b]); else for (const a of g[0]) o.push([a, b]) } return o }'),
      true,
    )
  }

  fullOuterJoin<K, V, W>(this: Dataset<readonly [K, V]>, other: Dataset<readonly [K, W]>, options: ShuffleOptions = {}): Dataset<readonly [K, readonly [V | undefined, W | undefined]]> {
    return this.cogroup(other, options).#fnOp(
      'flatMapValues',
      builtin(
        '(g) => { const o = []; if (g[0].length === 0) { for (const b of g[1]) o.push([undefined, b]) } else if (g[1].length === 0) { for (const a of g[0]) o.push([a, undefined]) } else { for (const a of g[0]) for (const b of g[1]) o.push([a, b]) } return o }',
      ),
      true,
    )
  }

  /** Sorts pairs by key: a range partitioner from a sample (one extra job), then a sort per partition. */
  sortByKey<K, V>(this: Dataset<readonly [K, V]>, ascending = true, options: ShuffleOptions = {}): Dataset<readonly [K, V]> {
    return new Dataset(this.#engine, sortByKeyNode(this.#engine, this.node, ascending, options))
  }

  sortBy<K, E = undefined>(fn: (x: T, env: E) => K, ascending = true, options: ShuffleOptions & FnOptions<E> = {}): Dataset<T> {
    return this.keyBy(fn, options).sortByKey(ascending, options).values() as Dataset<T>
  }

  // ---- actions ----

  async collect(): Promise<T[]> {
    const results = await this.#engine.run(this.node, { kind: 'collect' }, 'collect')
    const out: T[] = []
    for (const r of results) for (const x of (r as { value: T[] }).value) out.push(x)
    return out
  }

  async count(): Promise<number> {
    const results = await this.#engine.run(this.node, { kind: 'count' }, 'count')
    return results.reduce((a, r) => a + (r as { value: number }).value, 0)
  }

  /** The first n elements, scanning partitions in order (1, then 4x more per round). */
  async take(n: number): Promise<T[]> {
    const out: T[] = []
    let next = 0
    let batch = 1
    while (out.length < n && next < this.node.partitions) {
      const parts: number[] = []
      for (let i = 0; i < batch && next < this.node.partitions; i++) parts.push(next++)
      const results = await this.#engine.run(this.node, { kind: 'take', n: n - out.length }, 'take', parts)
      for (const r of results) for (const x of (r as { value: T[] }).value) if (out.length < n) out.push(x)
      batch *= 4
    }
    return out
  }

  async first(): Promise<T> {
    const [x] = await this.take(1)
    if (x === undefined && (await this.take(1)).length === 0) throw new JobError(JobErrorCodes.EMPTY_DATASET, 'first: the dataset is empty')
    return x as T
  }

  async reduce<E = undefined>(fn: (a: T, b: T, env: E) => T, options: FnOptions<E> = {}): Promise<T> {
    const spec = toFnSpec(fn, { what: 'reduce', env: options.env })
    const results = await this.#engine.run(this.node, { kind: 'fold', fn: spec, hasZero: false }, 'reduce')
    const f = await compileFn(spec)
    let has = false
    let acc: unknown
    for (const r of results) {
      const v = (r as { value: { has: boolean; acc: unknown } }).value
      if (!v.has) continue
      acc = has ? f.fn(acc, v.acc, f.env) : v.acc
      has = true
    }
    if (!has) throw new JobError(JobErrorCodes.EMPTY_DATASET, 'reduce: the dataset is empty; use fold() with a zero value')
    return acc as T
  }

  async fold<E = undefined>(zero: T, fn: (a: T, b: T, env: E) => T, options: FnOptions<E> = {}): Promise<T> {
    const spec = toFnSpec(fn, { what: 'fold', env: options.env })
    const results = await this.#engine.run(this.node, { kind: 'fold', fn: spec, zero, hasZero: true }, 'fold')
    const f = await compileFn(spec)
    let acc = clone(zero)
    for (const r of results) acc = f.fn(acc, (r as { value: { acc: unknown } }).value.acc, f.env)
    return acc as T
  }

  async aggregate<U, E = undefined>(zero: U, seq: (acc: U, x: T, env: E) => U, comb: (a: U, b: U, env: E) => U, options: FnOptions<E> = {}): Promise<U> {
    const seqSpec = toFnSpec(seq, { what: 'aggregate', env: options.env })
    const combSpec = toFnSpec(comb, { what: 'aggregate', env: options.env })
    const results = await this.#engine.run(this.node, { kind: 'fold', fn: seqSpec, zero, hasZero: true }, 'aggregate')
    const f = await compileFn(combSpec)
    let acc = clone(zero)
    for (const r of results) acc = f.fn(acc, (r as { value: { acc: unknown } }).value.acc, f.env)
    return acc as U
  }

  async countByKey<K, V>(this: Dataset<readonly [K, V]>): Promise<Map<K, number>> {
    const counts = await this.#fnOp<readonly [K, number]>('mapValues', builtin('() => 1'), true).reduceByKey((a, b) => a + b).collect()
    return new Map(counts)
  }

  async countByValue(): Promise<Map<T, number>> {
    const counts = await this.#fnOp<readonly [T, number]>('map', builtin('(x) => [x, 1]')).reduceByKey((a, b) => a + b).collect()
    return new Map(counts)
  }

  async foreach<E = undefined>(fn: (x: T, env: E) => void, options: FnOptions<E> = {}): Promise<void> {
    await this.#engine.run(this.node, { kind: 'foreach', fn: toFnSpec(fn, { what: 'foreach', env: options.env }) }, 'foreach')
  }

  /** One line per record (strings as they are, anything else as JSON); atomic: all part files and _SUCCESS, or nothing. */
  async saveAsTextFile(dir: string): Promise<void> {
    await this.#engine.save(this.node, dir, 'text')
  }

  /** One JSON document per line; atomic like saveAsTextFile. */
  async saveAsJsonLines(dir: string): Promise<void> {
    await this.#engine.save(this.node, dir, 'json')
  }
}
