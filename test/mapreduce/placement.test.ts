// placeTask(): the scheduler's per-partition placement decision, as a pure function of the workers,
// their running tasks and the cached blocks. Table-driven: each row is a cluster and the decision
// (kind, worker, reason) expected for one partition.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { newStageRound, placementOrder, placeTask, PlacementReasons, type Placement, type StageRound } from '../../src/mapreduce/placement.js'
import type { RunningTask, WorkerState } from '../../src/mapreduce/scheduler-state.js'
import type { PlanNode, StorageLevel } from '../../src/mapreduce/task-spec.js'

const SOURCE: PlanNode = { id: 0, partitions: 4, op: 'parallelize', slices: [[], [], [], []] }

function cachedPlan(level: StorageLevel): PlanNode {
  return { id: 1, partitions: 4, op: 'cached', input: { kind: 'narrow', node: SOURCE }, cacheKey: 'c1', level, budgetBytes: 0 }
}

/** A worker spec: slots, and the running tasks as `stageKey:partition` (job 'j1' unless `job/`). */
interface WorkerSpec {
  readonly slots: number
  readonly tasks?: readonly string[]
}

interface Row {
  readonly name: string
  readonly workers: Readonly<Record<string, WorkerSpec>>
  /** `c1:partition` -> holders, first copy first. */
  readonly cached?: Readonly<Record<string, readonly string[]>>
  readonly plan: PlanNode
  readonly queuesTasks?: boolean
  readonly speculation?: boolean
  readonly total?: number
  readonly partition: number
  /** `kind`, or `kind worker reason` for a launch, `locality-wait worker`. */
  readonly expect: string
}

function build(row: Pick<Row, 'workers' | 'cached' | 'plan' | 'queuesTasks' | 'speculation' | 'total'>): StageRound {
  const workers = new Map<string, WorkerState>()
  const running = new Map<string, RunningTask>()
  let n = 0
  for (const [id, spec] of Object.entries(row.workers)) {
    const w: WorkerState = { info: { id, slots: spec.slots, address: '' }, running: new Set() }
    workers.set(id, w)
    for (const t of spec.tasks ?? []) {
      const [jobPart, rest] = t.includes('/') ? (t.split('/') as [string, string]) : ['j1', t]
      const [stageKey, partition] = rest.split(':') as [string, string]
      const tid = `t${n++}`
      w.running.add(tid)
      running.set(tid, { stageKey, partition: Number(partition), workerId: id, shuffleId: null, attempt: 0, jobId: jobPart, startedAt: 0, speculative: false, replica: false })
    }
  }
  const cacheLocations = new Map<string, Set<string>>()
  for (const [block, holders] of Object.entries(row.cached ?? {})) cacheLocations.set(block, new Set(holders))
  return newStageRound(
    { workers, running, cacheLocations },
    { stageKey: 'result', jobId: 'j1', plan: row.plan, total: row.total ?? 4, queuesTasks: row.queuesTasks ?? false, speculation: row.speculation ?? false },
  )
}

function show(d: Placement): string {
  if (d.kind === 'launch') return `launch ${d.worker.info.id} ${d.reason}`
  if (d.kind === 'locality-wait') return `locality-wait ${d.worker.info.id}`
  return d.kind
}

const PLAIN = SOURCE
const MEMORY = cachedPlan('MEMORY')
const MEMORY_2 = cachedPlan('MEMORY_2')

const rows: readonly Row[] = [
  { name: 'no cached input: the worker with the most free slots', plan: PLAIN, workers: { a: { slots: 2, tasks: ['result:9'] }, b: { slots: 2 } }, partition: 0, expect: 'launch b free' },
  { name: 'every slot taken, no pipelining: the round stops', plan: MEMORY, workers: { a: { slots: 1, tasks: ['result:9'] } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'no-slot' },
  { name: 'every slot taken, no cached input: pipelining does not apply', plan: PLAIN, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:9'] } }, partition: 0, expect: 'no-slot' },
  { name: 'a free holder wins over a worker with more free slots', plan: MEMORY, workers: { a: { slots: 1 }, b: { slots: 4 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'launch a locality' },
  { name: 'the first free holder in first-copy order', plan: MEMORY, workers: { a: { slots: 1 }, b: { slots: 1 } }, cached: { 'c1:0': ['b', 'a'] }, partition: 0, expect: 'launch b locality' },
  { name: 'a holder that is no longer a worker does not count', plan: MEMORY, workers: { b: { slots: 1 } }, cached: { 'c1:0': ['gone'] }, partition: 0, expect: 'launch b free' },
  { name: 'busy holder, another worker free, no queueing executor: wait for the holder', plan: MEMORY, workers: { a: { slots: 1, tasks: ['result:1'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'locality-wait b' },
  { name: 'busy holder running this stage, queueing executor: queue behind it', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:1'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'launch a pipelined' },
  { name: 'pipelining is off with speculation', plan: MEMORY, queuesTasks: true, speculation: true, workers: { a: { slots: 1, tasks: ['result:1'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'locality-wait b' },
  { name: 'never queued behind another stage\'s task', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['s3:1'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'locality-wait b' },
  { name: 'never queued behind another job\'s task', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['j0/result:1'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'locality-wait b' },
  { name: 'one queued task per worker at most', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:1', 'result:2'] }, b: { slots: 1 } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'locality-wait b' },
  { name: 'no free slot but a queue slot elsewhere: queue behind the holder', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:1'] }, b: { slots: 1, tasks: ['result:2'] } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'launch a pipelined' },
  { name: 'no free slot, holder cannot queue it: nothing for this partition', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['s3:1'] }, b: { slots: 1, tasks: ['result:2'] } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'none' },
  { name: 'every queue slot taken too: the round stops', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:1', 'result:2'] } }, cached: { 'c1:0': ['a'] }, partition: 0, expect: 'no-slot' },
  { name: 'no free slot, partition not cached anywhere: nothing for it', plan: MEMORY, queuesTasks: true, workers: { a: { slots: 1, tasks: ['result:1'] } }, cached: { 'c1:1': ['a'] }, partition: 0, expect: 'none' },
  { name: 'MEMORY (one copy), not cached yet: any free worker', plan: MEMORY, workers: { a: { slots: 2 }, b: { slots: 1 } }, cached: { 'c1:1': ['a'], 'c1:2': ['a'] }, partition: 0, expect: 'launch a free' },
  { name: 'MEMORY_2 first copy: not on the worker already at its share', plan: MEMORY_2, workers: { a: { slots: 2 }, b: { slots: 1 } }, cached: { 'c1:1': ['a', 'b'], 'c1:2': ['a', 'b'] }, partition: 0, expect: 'launch b replica-spread' },
  { name: 'MEMORY_2 first copy: running first copies of this stage count', plan: MEMORY_2, workers: { a: { slots: 3, tasks: ['result:1', 'result:2'] }, b: { slots: 1 } }, partition: 0, expect: 'launch b replica-spread' },
  { name: 'MEMORY_2 first copy: the only free worker is at its share', plan: MEMORY_2, workers: { a: { slots: 4 }, b: { slots: 1, tasks: ['result:3'] } }, cached: { 'c1:1': ['a', 'b'], 'c1:2': ['a', 'b'] }, partition: 0, expect: 'none' },
  { name: 'MEMORY_2 first copy: the share is ceil(total / workers)', plan: MEMORY_2, total: 6, workers: { a: { slots: 4 }, b: { slots: 1, tasks: ['result:3'] } }, cached: { 'c1:1': ['a', 'b'], 'c1:2': ['a', 'b'] }, partition: 0, expect: 'launch a replica-spread' },
]

for (const row of rows) {
  test(`placeTask: ${row.name}`, () => {
    assert.equal(show(placeTask(build(row), row.partition)), row.expect)
  })
}

test('placeTask: successive first copies of one round spread evenly (each decision counts itself)', () => {
  // Two free slots on a, one on b: by free slots alone a would take both.
  const round = build({ plan: MEMORY_2, total: 2, workers: { a: { slots: 2 }, b: { slots: 1 } } })
  const got: string[] = []
  for (const p of [0, 1]) {
    const d = placeTask(round, p)
    got.push(show(d))
    // Applied as the scheduler does: the task takes a slot.
    if (d.kind === 'launch') d.worker.running.add(`new${p}`)
  }
  assert.deepEqual(got, ['launch a replica-spread', 'launch b replica-spread'])
  assert.deepEqual([...(round.firstCopies ?? [])], [['a', 1], ['b', 1]])
})

test('placementOrder: fewest live holders first, stable; untouched without cached input', () => {
  const round = build({ plan: MEMORY, workers: { a: { slots: 1 }, b: { slots: 1 } }, cached: { 'c1:0': ['a', 'b'], 'c1:1': ['a'], 'c1:2': ['a', 'gone'], 'c1:3': [] } })
  assert.deepEqual([...placementOrder(round, [0, 1, 2, 3])], [3, 1, 2, 0])
  const plain = build({ plan: PLAIN, workers: { a: { slots: 1 } } })
  const gen = (function* () { yield 2; yield 0 })()
  assert.equal(placementOrder(plain, gen), gen)
})

test('newStageRound: pipelined only with cached input, a queueing executor and no speculation', () => {
  const cases: readonly [PlanNode, boolean, boolean, boolean][] = [
    [MEMORY, true, false, true],
    [MEMORY, false, false, false],
    [MEMORY, true, true, false],
    [PLAIN, true, false, false],
  ]
  for (const [plan, queuesTasks, speculation, pipelined] of cases) {
    assert.equal(build({ plan, queuesTasks, speculation, workers: { a: { slots: 1 } } }).pipelined, pipelined, `${plan.op} queuesTasks=${queuesTasks} speculation=${speculation}`)
  }
  assert.equal(PlacementReasons.REPLICA_SPREAD, 'replica-spread')
})
