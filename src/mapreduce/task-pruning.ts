// What one task needs of its stage's plan: partition p reads certain partitions of the nodes below
// it (its own through narrow operations; others through union, coalesce and cartesian), and only
// those parallelize slices and shuffle block sizes go into its TaskDescription. Without this every
// task carried every slice and every map output's full size table, so the bytes sent per job grew
// with the number of partitions squared (like Spark's ParallelCollectionPartition and
// MapOutputTracker.getMapSizesByExecutorId, which hand a task only its own share).
import type { MapOutputLocation, PlanInput, PlanNode } from './task-spec.js'

interface Reads {
  /** parallelize node id -> slice indices read. */
  readonly slices: Map<number, Set<number>>
  /** shuffle id -> reduce partitions fetched. */
  readonly shuffles: Map<number, Set<number>>
}

function add(m: Map<number, Set<number>>, key: number, p: number): void {
  const s = m.get(key)
  if (s === undefined) m.set(key, new Set([p]))
  else s.add(p)
}

/** Mirrors TaskContext.compute (task-runner.ts): which partition of each input partition p reads. */
function visit(node: PlanNode, p: number, reads: Reads): void {
  switch (node.op) {
    case 'parallelize':
      add(reads.slices, node.id, p)
      return
    case 'text':
    case 'range':
    case 'checkpointed':
      return
    case 'union': {
      let q = p
      for (let i = 0; i < node.inputs.length; i++) {
        const n = node.counts[i] as number
        if (q < n) { visitInput(node.inputs[i] as PlanInput, q, reads); return }
        q -= n
      }
      return
    }
    case 'coalesce':
      for (const q of node.groups[p] ?? []) visitInput(node.input, q, reads)
      return
    case 'cartesian':
      visitInput(node.right, p % node.rightPartitions, reads)
      visitInput(node.left, Math.floor(p / node.rightPartitions), reads)
      return
    case 'shuffled':
      for (const i of node.inputs) visitInput(i, p, reads)
      return
    default:
      // Every other operation reads partition p of its one input.
      visitInput(node.input, p, reads)
  }
}

function visitInput(input: PlanInput, p: number, reads: Reads): void {
  if (input.kind === 'narrow') visit(input.node, p, reads)
  else add(reads.shuffles, input.shuffleId, p)
}

/**
 * `all` with only the indices in `keep` set: a sparse array of the same length, built without a
 * backing store of that length (V8 keeps it in dictionary mode; v8 serialises just those entries).
 */
function only<T>(all: readonly T[], keep: ReadonlySet<number>): T[] {
  if (keep.size >= all.length) return all as T[]
  const out: T[] = []
  // Highest index first, so the array goes sparse at once instead of growing a dense store.
  for (const i of [...keep].sort((a, b) => b - a)) if (i < all.length) out[i] = all[i] as T
  out.length = all.length
  return out
}

/**
 * The plan and shuffle locations of `plan` cut down to what partition `p` reads. Slices and sizes
 * it does not read become holes; readers treat a hole as a planning error (blockSize, slice), never
 * as empty, so a mistake here fails the task instead of losing records.
 */
export function pruneForPartition(plan: PlanNode, p: number, shuffleInputs: Readonly<Record<number, readonly (MapOutputLocation | null)[]>>): { plan: PlanNode; shuffleInputs: Record<number, readonly (MapOutputLocation | null)[]> } {
  const reads: Reads = { slices: new Map(), shuffles: new Map() }
  visit(plan, p, reads)
  const copies = new Map<PlanNode, PlanNode>()
  const pruneInput = (i: PlanInput): PlanInput => (i.kind === 'narrow' ? { kind: 'narrow', node: pruneNode(i.node) } : i)
  // Copies are memoised by node, so a node used twice in the plan stays one object (v8 keeps that).
  const pruneNode = (node: PlanNode): PlanNode => {
    const done = copies.get(node)
    if (done !== undefined) return done
    let out: PlanNode
    if (node.op === 'parallelize') out = { ...node, slices: only(node.slices, reads.slices.get(node.id) ?? new Set()) }
    else if (node.op === 'union' || node.op === 'shuffled') out = { ...node, inputs: node.inputs.map(pruneInput) } as PlanNode
    else if (node.op === 'cartesian') out = { ...node, left: pruneInput(node.left), right: pruneInput(node.right) }
    else if ('input' in node) out = { ...node, input: pruneInput(node.input) } as PlanNode
    else out = node
    copies.set(node, out)
    return out
  }
  const locations: Record<number, readonly (MapOutputLocation | null)[]> = {}
  for (const [key, locs] of Object.entries(shuffleInputs)) {
    const keep = reads.shuffles.get(Number(key)) ?? new Set<number>()
    locations[Number(key)] = locs.map((l) => (l === null ? null : { ...l, sizes: only(l.sizes, keep) }))
  }
  return { plan: pruneNode(plan), shuffleInputs: locations }
}

/** Bytes of reduce partition `p` in a map output; throws if the task was not given it. */
export function blockSize(loc: MapOutputLocation, p: number): number {
  const n = loc.sizes[p]
  if (n === undefined) throw new Error(`Task has no block size for reduce partition ${p} of map ${loc.mapId} (planning error)`)
  return n
}
