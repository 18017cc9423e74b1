// The types of the Dataset API: what a Dataset needs from its Context (Engine), how record
// types are shaped, and the options and views its methods take. Re-exported by dataset.ts.
import type { LNode } from './lineage.js'
import type { StorageLevel, TaskOutput, TaskResult } from './task-spec.js'

/** What a Dataset needs from its Context. */
export interface Engine {
  nextId(): number
  nextShuffleId(): number
  readonly defaultPartitions: number
  readonly cartesianMaxPairs: number
  /** Runs one job over `partitions` of `node` (all by default); results in partition order. */
  run(node: LNode, output: TaskOutput, action: string, partitions?: readonly number[]): Promise<TaskResult[]>
  save(node: LNode, dir: string, format: 'text' | 'json'): Promise<void>
  /** Marks `node` persisted (cache()/persist()); undefined level = unpersist. */
  persist(node: LNode, level: StorageLevel | undefined): void
  /** Materialises `node` to files and cuts its lineage. */
  checkpoint(node: LNode): Promise<void>
}

/** Widens literal types so `[w, 1] as const` gives a dataset of [string, number]. */
export type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : T
/** Pairs become readonly [K, V] with widened members. */
export type Shaped<U> = U extends readonly [infer K, infer V] ? readonly [Widen<K>, Widen<V>] : U

/**
 * The records of one partition as a mapPartitions function gets them: `for await (const x of
 * records)`, or `for await (const batch of records.batches())` for arrays of records (one await
 * per batch instead of per record; treat the arrays as read-only).
 */
export interface PartitionRecords<T> extends AsyncIterable<T> {
  batches(): AsyncIterable<readonly T[]>
}

export interface FnOptions<E> {
  /** Passed as the last argument of every call (captured values travel this way). */
  env?: E
}

export interface ShuffleOptions {
  /** Reduce partitions; default: the parent's partitioner or Context defaultPartitions. */
  partitions?: number
}

/** A custom partitioner: `fn(key, partitions)` returns the partition (shipped like any function). */
export interface CustomPartitioner<K> {
  partitions: number
  fn: (key: K, partitions: number) => number
  env?: unknown
}
