// Driver-side lineage: every Dataset holds an LNode that knows its partitions, its partitioner
// and how to emit its part of a stage plan. A PlanBuilder walks the graph for one job, cuts it at
// shuffle dependencies and collects the map stage of each shuffle it meets.
import type { ShuffleStageDef } from './scheduler.js'
import type { AggregatorSpec, PartitionerSpec, PlanInput, PlanNode, StorageLevel } from './task-spec.js'

export interface LNode {
  readonly id: number
  readonly partitions: number
  /** Known partitioning of a pair dataset (co-partitioned joins skip their shuffle). */
  readonly partitioner: PartitionerSpec | undefined
  /** Operator name for stage names in summaries. */
  readonly name: string
  readonly parents: readonly LNode[]
  build(b: PlanBuilder): PlanNode
  /** Work needed before planning (range bounds from a sample, zipWithIndex offsets). Runs once. */
  prepare?: () => Promise<void>
  /** Set by persist()/cache(), cleared by unpersist(). */
  storage?: { level: StorageLevel; cacheKey: string; budgetBytes: number } | undefined
  /** Set by checkpoint(): partition files that replace this node's lineage. */
  checkpointFiles?: readonly string[] | undefined
}

/** Options of deriveNode: what differs from a one-to-one child of `parent`. */
export interface DeriveOptions {
  partitions?: number
  partitioner?: PartitionerSpec | undefined
  parents?: LNode[]
  prepare?: () => Promise<void>
}

/** Node `id` computed from `parent` (same partitions, no partitioner unless `extra` says otherwise). */
export function deriveNode(id: number, parent: LNode, name: string, build: (b: PlanBuilder, id: number) => PlanNode, extra: DeriveOptions = {}): LNode {
  return {
    id,
    name,
    partitions: extra.partitions ?? parent.partitions,
    partitioner: extra.partitioner,
    parents: extra.parents ?? [parent],
    build: (b) => build(b, id),
    ...(extra.prepare === undefined ? {} : { prepare: extra.prepare }),
  }
}

/** A node's plan, honouring checkpoint (lineage cut) and persistence (cached wrapper). */
export function buildNode(node: LNode, b: PlanBuilder): PlanNode {
  if (node.checkpointFiles !== undefined) return { id: node.id, partitions: node.partitions, op: 'checkpointed', files: node.checkpointFiles }
  const plan = node.build(b)
  const st = node.storage
  if (st === undefined) return plan
  return { id: -1_000_000 - node.id, partitions: node.partitions, op: 'cached', input: { kind: 'narrow', node: plan }, cacheKey: st.cacheKey, level: st.level, budgetBytes: st.budgetBytes }
}

export interface ShuffleDep {
  readonly shuffleId: number
  readonly parent: LNode
  /** A function because range bounds are only known after prepare(). */
  partitioner(): PartitionerSpec
  readonly combine?: AggregatorSpec
  /** cogroup input index: the map side tags values as [tag, value]. */
  readonly tag?: number
  readonly name: string
}

export class PlanBuilder {
  readonly shuffles: Map<number, ShuffleStageDef>
  /** Shuffles read directly by the stage being built. */
  readonly parents: number[] = []

  constructor(shuffles: Map<number, ShuffleStageDef> = new Map()) {
    this.shuffles = shuffles
  }

  narrow(node: LNode): PlanInput {
    return { kind: 'narrow', node: buildNode(node, this) }
  }

  shuffle(dep: ShuffleDep): PlanInput {
    if (!this.parents.includes(dep.shuffleId)) this.parents.push(dep.shuffleId)
    if (!this.shuffles.has(dep.shuffleId)) {
      const sub = new PlanBuilder(this.shuffles)
      let plan = buildNode(dep.parent, sub)
      if (dep.tag !== undefined) plan = { id: -dep.shuffleId - 1, partitions: plan.partitions, op: 'tagged', tag: dep.tag, input: { kind: 'narrow', node: plan } }
      const combine = dep.combine
      this.shuffles.set(dep.shuffleId, {
        shuffleId: dep.shuffleId,
        name: `${dep.name} (map side)`,
        partitions: dep.parent.partitions,
        plan,
        output: { kind: 'shuffle', shuffleId: dep.shuffleId, partitioner: dep.partitioner(), ...(combine === undefined ? {} : { combine }) },
        parents: sub.parents,
      })
    }
    return { kind: 'shuffle', shuffleId: dep.shuffleId, numMaps: dep.parent.partitions }
  }
}

/** Runs prepare() of every node reachable from `root`, parents first, each once. */
export async function prepareLineage(root: LNode, done: Set<number>): Promise<void> {
  if (done.has(root.id) || root.checkpointFiles !== undefined) return
  for (const p of root.parents) await prepareLineage(p, done)
  if (root.prepare !== undefined) await root.prepare()
  done.add(root.id)
}
