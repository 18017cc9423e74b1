// bench/stragglers: one of 6 workers slowed 5x (its processes are SIGSTOPped 80% of the time, like a
// throttled VM), with and without speculative execution. The MapReduce paper: without backup
// tasks a sort took 44% longer; target here: with speculation the job finishes within 1.3x of the
// no-straggler time. Usage: npm run bench -- stragglers [--rounds R] [--tasks N] [--task-ms M]
import { readFileSync } from 'node:fs'
import { machineLine, median, runBench, type Contender, type Workload } from '../lib/harness.js'
import type { Context } from '../../src/mapreduce/index.js'
import { startBenchCluster } from '../iterative/cluster.js'

const args = process.argv.slice(2)
const flag = (name: string, d: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const ROUNDS = flag('rounds', 3)
const TASKS = flag('tasks', 48)
const TASK_MS = flag('task-ms', 250)
const WORKERS = flag('workers', 6)

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** Slows a process tree `factor` times by stopping it (factor-1)/factor of every 100 ms. */
function throttle(pid: number, factor: number): () => void {
  const pids = [pid, ...children(pid)]
  const runMs = 100 / factor
  const signal = (s: NodeJS.Signals): void => {
    for (const p of pids) {
      try {
        process.kill(p, s)
      } catch {
        // exited
      }
    }
  }
  const timer = setInterval(() => {
    signal('SIGSTOP')
    setTimeout(() => {
      signal('SIGCONT')
    }, 100 - runMs)
  }, 100)
  return () => {
    clearInterval(timer)
    signal('SIGCONT')
  }
}

async function job(ctx: Context): Promise<number> {
  return ctx
    .range(0, TASKS * 100, 1, TASKS)
    .mapPartitions(async function* (xs, env) {
      // ~TASK_MS of work in 1 ms steps. The steps only advance while the process runs, so a
      // throttled worker is really ~5x slower, yet the task hardly uses CPU: slowing one worker
      // does not hand the others spare cores (2 cores are shared by all workers here).
      const cell = new Int32Array(new SharedArrayBuffer(4))
      for (let i = 0; i < env.steps; i++) Atomics.wait(cell, 0, 0, 1)
      for await (const x of xs) yield x
    }, { env: { steps: TASK_MS } })
    .count()
}

const cluster = await startBenchCluster(WORKERS, 256)
type Ctx = { ctx: Context }
const contender = (name: string, speculation: boolean): Contender<Ctx> => ({
  name,
  async start() {
    const ctx = cluster.context({ speculation })
    await job(ctx) // warm-up: workers compile the engine once
    return { ctx: { ctx }, stop: () => ctx.stop() }
  },
})
const times: Record<string, number[]> = {}
const workload = (name: string, slow: boolean): Workload<Ctx> => ({
  name,
  unit: 'tasks/s',
  async run({ ctx }, who) {
    const victim = cluster.coordinator.aliveWorkers()[0]
    const release = slow && victim !== undefined ? throttle(victim.pid, 5) : () => {}
    const t0 = performance.now()
    try {
      const n = await job(ctx)
      if (n !== TASKS * 100) throw new Error(`wrong count ${n}`)
    } finally {
      release()
    }
    const s = (performance.now() - t0) / 1000
    ;(times[`${name}|${who}`] ??= []).push(s)
    return { ops: TASKS, seconds: s }
  },
})
try {
  await runBench<Ctx>({
    name: 'stragglers',
    rounds: ROUNDS,
    contenders: [contender('speculation', true), contender('no speculation', false)],
    workloads: [workload('no straggler', false), workload('one worker 5x slower', true)],
  })
  const base = median(times['no straggler|speculation'] ?? [])
  const baseNoSpec = median(times['no straggler|no speculation'] ?? [])
  const spec = median(times['one worker 5x slower|speculation'] ?? [])
  const noSpec = median(times['one worker 5x slower|no speculation'] ?? [])
  console.log(
    [
      `### stragglers — ${TASKS} tasks x ~${TASK_MS} ms on ${WORKERS} workers (loopback), one slowed 5x, ${ROUNDS} rounds, median; ${new Date().toISOString()}`,
      `Machine: ${machineLine()}`,
      '',
      '| run | job time | vs no straggler |',
      '| --- | --- | --- |',
      `| no straggler (speculation on) | ${base.toFixed(2)} s | 1.00x |`,
      `| no straggler (speculation off) | ${baseNoSpec.toFixed(2)} s | ${(baseNoSpec / base).toFixed(2)}x |`,
      `| one worker 5x slower, speculation off | ${noSpec.toFixed(2)} s | ${(noSpec / base).toFixed(2)}x |`,
      `| one worker 5x slower, speculation on | ${spec.toFixed(2)} s | ${(spec / base).toFixed(2)}x |`,
    ].join('\n'),
  )
} finally {
  await cluster.stop()
}
