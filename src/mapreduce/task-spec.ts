// The serialisable task description: everything a worker (local process or remote machine) needs to
// compute one partition of one stage. Plain data only (JSON / structured-clone / msgpack safe): no
// functions, no class instances. Functions travel as FnSpec (source text or module export).
//
// A stage is a tree of PlanNodes, rooted at the stage's last dataset, cut at shuffle boundaries:
// a shuffle dependency appears as a `shuffle` input that names a shuffleId, and the worker reads
// those blocks through the ShuffleFetcher (see shuffle-store.ts) at the locations the driver put in
// `TaskDescription.shuffleInputs`.

/**
 * How a user function reaches a worker (see docs/mapreduce.md, "Shipping functions").
 * - `source`: the function's own source text (`fn.toString()`), checked at definition time to
 *   capture no free variable. `env`, if present, is passed as the LAST extra argument on every call.
 * - `module`: an export of an ES module (file URL) the worker imports, so module-level imports and
 *   constants are available; created with `shippable(import.meta.url, 'name', fn)`.
 */
export type FnSpec =
  | { readonly kind: 'source'; readonly source: string; readonly env?: unknown }
  | { readonly kind: 'module'; readonly module: string; readonly exportName: string; readonly env?: unknown }

/** Where records of a pair dataset go in a shuffle. Equal specs mean co-partitioned data. */
export type PartitionerSpec =
  | { readonly kind: 'hash'; readonly partitions: number }
  /** `bounds` has partitions-1 sorted upper bounds (inclusive); keys above the last go to the last partition. */
  | { readonly kind: 'range'; readonly partitions: number; readonly bounds: readonly unknown[]; readonly ascending: boolean }
  /** `fn(key, partitions) => index` (plus env); compared by source text for co-partitioning. */
  | { readonly kind: 'custom'; readonly partitions: number; readonly fn: FnSpec }

/** How values of one key are combined (reduceByKey, foldByKey, aggregateByKey, combineByKey, groupByKey, cogroup). */
export type AggregatorSpec =
  | { readonly kind: 'reduce'; readonly fn: FnSpec }
  | { readonly kind: 'fold'; readonly zero: unknown; readonly fn: FnSpec }
  | { readonly kind: 'aggregate'; readonly zero: unknown; readonly seq: FnSpec; readonly comb: FnSpec }
  | { readonly kind: 'combine'; readonly create: FnSpec; readonly mergeValue: FnSpec; readonly mergeCombiners: FnSpec }
  | { readonly kind: 'group' }
  /** cogroup of `inputs` tagged inputs: the combiner is one array of values per input. */
  | { readonly kind: 'cogroup'; readonly inputs: number }
  /** Keep the first value (distinct). */
  | { readonly kind: 'first' }

/** A text input split: bytes [start, end) of one file; lines belong to the split where they start. */
export interface TextSplit {
  readonly path: string
  readonly start: number
  /** -1 = to the end of the file (always so for gzip, which cannot be split). */
  readonly end: number
  readonly gzip: boolean
}

/** One input of a node. `narrow` inputs are computed in the same task; `shuffle` inputs are fetched. */
export type PlanInput =
  | { readonly kind: 'narrow'; readonly node: PlanNode }
  | { readonly kind: 'shuffle'; readonly shuffleId: number; readonly numMaps: number }

/**
 * One dataset inside a stage. `op` selects the worker's implementation; `partitions` is its
 * partition count. Partition p of a node reads partition p of each narrow input unless the op says
 * otherwise (union, coalesce, cartesian, source ops).
 */
export type PlanNode = { readonly id: number; readonly partitions: number } & (
  | { readonly op: 'text'; readonly splits: readonly (readonly TextSplit[])[]; readonly format: 'lines' | 'json' | 'csv'; readonly csv?: CsvSpec }
  | { readonly op: 'parallelize'; readonly slices: readonly (readonly unknown[])[] }
  | { readonly op: 'range'; readonly start: number; readonly end: number; readonly step: number }
  | { readonly op: 'map' | 'flatMap' | 'filter' | 'mapValues' | 'flatMapValues' | 'keyBy' | 'mapPartitions'; readonly input: PlanInput; readonly fn: FnSpec }
  /** mapPartitionsWithIndex-like built-ins with no user function. */
  | { readonly op: 'sample'; readonly input: PlanInput; readonly fraction: number; readonly withReplacement: boolean; readonly seed: number }
  | { readonly op: 'zipWithIndex'; readonly input: PlanInput; readonly offsets: readonly number[] }
  | { readonly op: 'keys' | 'values' | 'tagged'; readonly input: PlanInput; readonly tag?: number }
  | { readonly op: 'union'; readonly inputs: readonly PlanInput[]; readonly counts: readonly number[] }
  /** groups[p] lists the input partitions read by output partition p. */
  | { readonly op: 'coalesce'; readonly input: PlanInput; readonly groups: readonly (readonly number[])[] }
  | { readonly op: 'cartesian'; readonly left: PlanInput; readonly right: PlanInput; readonly rightPartitions: number }
  /**
   * Reads one or more inputs (shuffled or already co-partitioned) and, if `aggregator` is set,
   * combines values per key; if `sort` is set, sorts the partition by key.
   */
  | {
      readonly op: 'shuffled'
      readonly inputs: readonly PlanInput[]
      readonly aggregator?: AggregatorSpec
      /** Inputs already carry combiners (map-side combine happened), so merge with mergeCombiners. */
      readonly combined?: boolean
      readonly sort?: { readonly ascending: boolean }
    }
  /**
   * A persisted dataset (cache()/persist()): partition p is served from the worker's partition
   * cache (cache-store.ts) when present, else computed from `input` and stored at `level`.
   */
  | { readonly op: 'cached'; readonly input: PlanInput; readonly cacheKey: string; readonly level: StorageLevel; readonly budgetBytes: number }
  /** A checkpointed dataset: partition p is read back from `files[p]` (v8-serialised records); no lineage. */
  | { readonly op: 'checkpointed'; readonly files: readonly string[] }
)

/**
 * Where persisted partitions live: memory (LRU under a budget), memory spilling to disk, disk.
 * MEMORY_2 is MEMORY on two workers: the job that first computes a partition also computes it on a
 * second worker, so losing one worker loses no cached partition (Spark's MEMORY_ONLY_2).
 */
export type StorageLevel = 'MEMORY' | 'MEMORY_2' | 'MEMORY_AND_DISK' | 'DISK'

export interface CsvSpec {
  readonly header: boolean
  readonly delimiter: string
  /** Column types applied to fields: 'string' | 'number' | 'boolean' | 'json'. Missing = string. */
  readonly types: Readonly<Record<string, 'string' | 'number' | 'boolean' | 'json'>> | readonly ('string' | 'number' | 'boolean' | 'json')[]
}

/** What a task does with the records its plan produces. */
export type TaskOutput =
  | {
      readonly kind: 'shuffle'
      readonly shuffleId: number
      readonly partitioner: PartitionerSpec
      /** Map-side combine with this aggregator before writing. */
      readonly combine?: AggregatorSpec
    }
  | { readonly kind: 'collect'; readonly maxResultBytes?: number }
  | { readonly kind: 'count' }
  | { readonly kind: 'take'; readonly n: number; readonly maxResultBytes?: number }
  /** Fold the partition with `fn` starting from `zero` (reduce: no zero; aggregate: seq fn). */
  | { readonly kind: 'fold'; readonly fn: FnSpec; readonly zero?: unknown; readonly hasZero: boolean }
  | { readonly kind: 'foreach'; readonly fn: FnSpec }
  /**
   * Reservoir sample of keys (range partitioner bounds): up to `size` keys, seeded, taken from the
   * first `maxRecords` records of the partition (default size x 100), so sampling costs a fraction
   * of a pass. Only the balance of the range partitions depends on it, never the result.
   */
  | { readonly kind: 'sample-keys'; readonly size: number; readonly seed: number; readonly keyFn?: FnSpec; readonly maxRecords?: number }
  /**
   * Write `dir/_attempts/<partition>-<attempt>/part-NNNNN` (NNNNN = partition, 5 digits); the
   * driver renames the first successful attempt's file to `dir/part-NNNNN` (output-commit.ts).
   */
  | { readonly kind: 'save'; readonly format: 'text' | 'json'; readonly dir: string }
  /** Write the partition's records v8-serialised to `dir/part-NNNNN.v8` (checkpoint()). */
  | { readonly kind: 'checkpoint'; readonly dir: string }

/** Where the map output of (shuffleId, mapId) lives; opaque to the scheduler except `workerId`. */
export interface MapOutputLocation {
  readonly mapId: number
  readonly attempt: number
  /** Worker (executor) id that wrote it; outputs die with their worker. */
  readonly workerId: string
  /** Address a remote fetcher connects to (cluster mode); '' in local mode. */
  readonly address: string
  /** Bytes written per reduce partition. Reducers skip empty blocks. */
  readonly sizes: readonly number[]
}

export interface TaskDescription {
  /** Unique per launch: `${jobId}.${stageId}.${partition}.${attempt}`. */
  readonly taskId: string
  readonly jobId: string
  readonly stageId: number
  readonly partition: number
  /** 0-based; the scheduler allows up to 4 attempts that fail by error (the loss of its worker counts as one). */
  readonly attempt: number
  readonly plan: PlanNode
  readonly output: TaskOutput
  /** For every shuffle input in `plan`: one location per map partition (index = mapId). */
  readonly shuffleInputs: Readonly<Record<number, readonly MapOutputLocation[]>>
  /** Memory budget of this task for aggregation / sort buffers before spilling, in bytes. */
  readonly memoryBudgetBytes: number
  /** Job scratch directory on the worker's machine (spill files). */
  readonly scratchDir: string
  /** False: never run a fused stage (fused/index.ts), only the generic path. Absent = true. */
  readonly fused?: boolean
}

export interface TaskMetrics {
  readonly recordsIn: number
  readonly recordsOut: number
  readonly bytesRead: number
  readonly shuffleWriteBytes: number
  readonly shuffleReadBytes: number
  readonly spillBytes: number
  readonly durationMs: number
  /** Persisted partitions this worker holds after the task, as `cacheKey:partition` (scheduler locality). */
  readonly cachedBlocks?: readonly string[]
  /** Accumulator updates made by this task (applied once per partition by the driver). */
  readonly accumulators?: Readonly<Record<string, number>>
  /** The fused stage (fused/index.ts) that produced this task's output, if one did. */
  readonly fused?: string
}

export type TaskResult =
  | { readonly kind: 'map-status'; readonly sizes: readonly number[] }
  | { readonly kind: 'value'; readonly value: unknown; /** Estimated driver heap bytes of `value` (collect, take). */ readonly bytes?: number }
  | { readonly kind: 'saved'; readonly file: string }

/** Why a task failed. `fetchFailed` marks a lost shuffle block: not counted as an attempt. */
export interface TaskFailure {
  readonly message: string
  readonly code?: string
  readonly stack?: string
  readonly fetchFailed?: { readonly shuffleId: number; readonly mapId: number }
}

export function taskId(jobId: string, stageId: number, partition: number, attempt: number): string {
  return `${jobId}.${stageId}.${partition}.${attempt}`
}
