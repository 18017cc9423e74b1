// The lineage nodes of the by-key shuffles behind Dataset (combineByKey and its kin, partitionBy,
// cogroup, sortByKey): the target partitioner, and no shuffle for inputs already partitioned so.
import type { Engine, ShuffleOptions } from './dataset-types.js'
import { deriveNode, type LNode, type ShuffleDep } from './lineage.js'
import { rangeBounds, samePartitioner } from './partitioner.js'
import type { AggregatorSpec, PartitionerSpec } from './task-spec.js'

/** An explicit partition count, else the widest known partitioner of the inputs, else hash. */
function targetPartitioner(engine: Engine, nodes: readonly LNode[], options: ShuffleOptions): PartitionerSpec {
  if (options.partitions !== undefined) return { kind: 'hash', partitions: options.partitions }
  const withP = nodes.map((n) => n.partitioner).filter((p): p is PartitionerSpec => p !== undefined)
  if (withP.length > 0) return withP.reduce((a, b) => (b.partitions > a.partitions ? b : a))
  return { kind: 'hash', partitions: Math.max(engine.defaultPartitions, ...nodes.map((n) => n.partitions)) }
}

/** Values per key combined by `agg` (map-side too with `mapSide`), partitioned by `options`. */
export function combineNode(engine: Engine, parent: LNode, agg: AggregatorSpec, mapSide: boolean, name: string, options: ShuffleOptions | PartitionerSpec): LNode {
  const target = 'kind' in options ? options : targetPartitioner(engine, [parent], options)
  if (samePartitioner(parent.partitioner, target)) {
    // Already partitioned this way: combine in place, no shuffle.
    return deriveNode(engine.nextId(), parent, name, (b, id) => ({ id, partitions: parent.partitions, op: 'shuffled', inputs: [b.narrow(parent)], aggregator: agg }), { partitioner: parent.partitioner })
  }
  const dep: ShuffleDep = { shuffleId: engine.nextShuffleId(), parent, partitioner: () => target, ...(mapSide ? { combine: agg } : {}), name }
  return deriveNode(engine.nextId(), parent, name, (b, id) => ({ id, partitions: target.partitions, op: 'shuffled', inputs: [b.shuffle(dep)], aggregator: agg, combined: mapSide }), {
    partitions: target.partitions,
    partitioner: target,
  })
}

/** `parent`'s pairs moved by `spec` (the caller skips this when parent is partitioned so). */
export function partitionByNode(engine: Engine, parent: LNode, spec: PartitionerSpec): LNode {
  const dep: ShuffleDep = { shuffleId: engine.nextShuffleId(), parent, partitioner: () => spec, name: 'partitionBy' }
  return deriveNode(engine.nextId(), parent, 'partitionBy', (b, id) => ({ id, partitions: spec.partitions, op: 'shuffled', inputs: [b.shuffle(dep)] }), { partitions: spec.partitions, partitioner: spec })
}

/** Per key, one array of values per input; inputs already partitioned like the target are read in place. */
export function cogroupNode(engine: Engine, inputs: LNode[], options: ShuffleOptions): LNode {
  const target = targetPartitioner(engine, inputs, options)
  const deps = inputs.map((n, tag): ShuffleDep | null =>
    samePartitioner(n.partitioner, target) ? null : { shuffleId: engine.nextShuffleId(), parent: n, partitioner: () => target, tag, name: 'cogroup' },
  )
  return deriveNode(
    engine.nextId(),
    inputs[0] as LNode,
    'cogroup',
    (b, id) => ({
      id,
      partitions: target.partitions,
      op: 'shuffled',
      inputs: inputs.map((n, i) => {
        const d = deps[i]
        return d === null || d === undefined ? b.narrow(n) : b.shuffle(d)
      }),
      aggregator: { kind: 'cogroup', inputs: inputs.length },
    }),
    { partitions: target.partitions, partitioner: target, parents: inputs },
  )
}

/** Pairs sorted by key: a range partitioner from a sample (one extra job, in prepare), then a sort per partition. */
export function sortByKeyNode(engine: Engine, parent: LNode, ascending: boolean, options: ShuffleOptions): LNode {
  const n = options.partitions ?? parent.partitions
  let spec: PartitionerSpec | null = null
  const prepare = async (): Promise<void> => {
    if (spec !== null) return
    if (n === 1) { spec = { kind: 'range', partitions: 1, bounds: [], ascending }; return }
    const perPartition = Math.ceil((60 * n) / Math.max(1, parent.partitions))
    const results = await engine.run(parent, { kind: 'sample-keys', size: Math.min(10_000, perPartition), seed: 17 }, 'sortByKey (sample)')
    const sample: unknown[] = []
    for (const r of results) sample.push(...((r as { value: { sample: unknown[] } }).value.sample))
    spec = { kind: 'range', partitions: n, bounds: rangeBounds(sample, n), ascending }
  }
  const dep: ShuffleDep = { shuffleId: engine.nextShuffleId(), parent, partitioner: () => spec as PartitionerSpec, name: 'sortByKey' }
  const id = engine.nextId()
  return {
    id,
    name: 'sortByKey',
    partitions: n,
    get partitioner() { return spec ?? undefined },
    parents: [parent],
    prepare,
    build: (b) => ({ id, partitions: n, op: 'shuffled', inputs: [b.shuffle(dep)], sort: { ascending } }),
  }
}
