// bench/iterative: the RDD paper's iterative-job claims on a 3-worker loopback cluster.
// - logistic regression and k-means, 10 iterations over generated points: cached dataset vs
//   "Hadoop mode" (every iteration re-reads and re-parses the text input and passes its stage
//   output through shuffle files on disk, the weights through a file);
// - PageRank with and without co-partitioning of links and ranks;
// - fault runs: k-means with a worker killed (kill -9) at iteration 6, once with the points cached
//   at MEMORY (lost partitions are recomputed from lineage: re-read and re-parsed) and once at
//   MEMORY_2 (every partition is cached on two workers, so the survivors hold all of them).
// The gradient / assignment functions read their points with `records.batches()` (one await per
// array of points); `--per-record` uses `for await (const p of records)` (one await per point).
// Both modes (cache and Hadoop) always run the same function.
// Usage: npm run bench -- iterative [--points N] [--rounds R] [--per-record] [--fault-only] [--fault-rounds F (5)] [--fault-level MEMORY|MEMORY_2]
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { machineLine, median, runBench, type Contender, type Workload } from '../lib/harness.js'
import type { Context, Dataset, StorageLevel } from '../../src/mapreduce/index.js'
import { startBenchCluster, type BenchCluster } from './cluster.js'
import { prng } from '../../src/internal/prng.js'

const args = process.argv.slice(2)
const flag = (name: string, d: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const POINTS = flag('points', 1_000_000)
const ROUNDS = flag('rounds', 1)
const PER_RECORD = args.includes('--per-record')
/** --fault-only: skip the cache-vs-Hadoop rounds and PageRank. */
const FAULT_ONLY = args.includes('--fault-only')
/** Fault runs per storage level: a single kill is one sample of a noisy moment, so several. */
const FAULT_ROUNDS = flag('fault-rounds', 5)
/** --fault-level L: only that storage level in the fault runs (default MEMORY and MEMORY_2). */
const FAULT_LEVELS: readonly StorageLevel[] = args.includes('--fault-level') ? [args[args.indexOf('--fault-level') + 1] as StorageLevel] : ['MEMORY', 'MEMORY_2']
for (const l of FAULT_LEVELS) if (l !== 'MEMORY' && l !== 'MEMORY_2') throw new Error(`--fault-level must be MEMORY or MEMORY_2, not ${String(l)}`)
const D = 10
const K = 4
const ITER = 10
const WORKERS = 3


async function generatePoints(file: string, n: number): Promise<void> {
  if (existsSync(file) && statSync(file).size > n * 20) return
  const rand = prng(42)
  const truth = Array.from({ length: D }, () => rand() * 2 - 1)
  const out = createWriteStream(file)
  let buf = ''
  for (let i = 0; i < n; i++) {
    const center = i % K
    const x = Array.from({ length: D }, (_, j) => (center * 3 - 4.5 + (j % 2 === 0 ? 1 : -1) * 0.5 + (rand() - 0.5) * 2).toFixed(4))
    const dot = x.reduce((a, v, j) => a + Number(v) * (truth[j] as number), 0)
    buf += `${dot > 0 ? 1 : -1} ${x.join(' ')}\n`
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()))
      buf = ''
    }
  }
  out.end(buf)
  await new Promise<void>((r) => out.on('finish', () => r()))
}

const parse = (line: string): Float64Array => {
  const parts = line.split(' ')
  const p = new Float64Array(parts.length)
  for (let i = 0; i < parts.length; i++) p[i] = Number(parts[i])
  return p
}

// ---- logistic regression ----

function lrGradient(points: Dataset<Float64Array>, w: number[]): Dataset<number[]> {
  return points.mapPartitions(async function* (pts, env) {
    const g = new Array<number>(env.w.length).fill(0)
    // --per-record: one await per point (each point handed on alone) instead of one per batch.
    const batches = env.perRecord ? (async function* () { for await (const p of pts) yield [p] })() : pts.batches()
    for await (const batch of batches) {
      for (const p of batch) {
        let dot = 0
        for (let j = 0; j < env.w.length; j++) dot += (env.w[j] as number) * (p[j + 1] as number)
        const y = p[0] as number
        const s = (1 / (1 + Math.exp(-y * dot)) - 1) * y
        for (let j = 0; j < env.w.length; j++) g[j] = (g[j] as number) + s * (p[j + 1] as number)
      }
    }
    yield g
  }, { env: { w, perRecord: PER_RECORD } })
}

const addVec = (a: number[], b: number[]): number[] => a.map((x, i) => x + (b[i] as number))

async function logisticRegression(ctx: Context, file: string, mode: 'cache' | 'hadoop', scratch: string, cpu: number[] = []): Promise<number[]> {
  const times: number[] = []
  cpu.push(cluster.cpuSeconds())
  let w = new Array<number>(D).fill(0)
  const cached = mode === 'cache' ? ctx.textFile(file, { minPartitions: 6 }).map(parse).cache() : null
  for (let i = 0; i < ITER; i++) {
    const t0 = performance.now()
    let g: number[]
    if (cached !== null) g = await lrGradient(cached, w).reduce(addVec)
    else {
      // Hadoop mode: re-read and re-parse, stage output through shuffle files, weights via a file.
      const wIn = JSON.parse(readFileSync(join(scratch, 'w.json'), 'utf8')) as number[]
      const pts = ctx.textFile(file, { minPartitions: 6 }).map(parse)
      const r = await lrGradient(pts, wIn).map((v) => [0, v] as const).reduceByKey(addVec, { partitions: 1 }).collect()
      g = (r[0] as readonly [number, number[]])[1]
    }
    w = w.map((x, j) => x - 0.5 * ((g[j] as number) / POINTS))
    if (mode === 'hadoop') writeFileSync(join(scratch, 'w.json'), JSON.stringify(w))
    times.push(performance.now() - t0)
    cpu.push(cluster.cpuSeconds())
  }
  cached?.unpersist()
  return times
}

// ---- k-means ----

function kmeansStep(points: Dataset<Float64Array>, centers: number[][]): Dataset<number[][]> {
  return points.mapPartitions(async function* (pts, env) {
    const k = env.centers.length
    const d = (env.centers[0] as number[]).length
    const sums = Array.from({ length: k }, () => new Array<number>(d + 1).fill(0))
    const batches = env.perRecord ? (async function* () { for await (const p of pts) yield [p] })() : pts.batches()
    for await (const batch of batches) {
      for (const p of batch) {
        let best = 0
        let bestDist = Infinity
        for (let c = 0; c < k; c++) {
          const ctr = env.centers[c] as number[]
          let dist = 0
          for (let j = 0; j < d; j++) {
            const diff = (p[j + 1] as number) - (ctr[j] as number)
            dist += diff * diff
          }
          if (dist < bestDist) {
            bestDist = dist
            best = c
          }
        }
        const s = sums[best] as number[]
        for (let j = 0; j < d; j++) s[j] = (s[j] as number) + (p[j + 1] as number)
        s[d] = (s[d] as number) + 1
      }
    }
    yield sums
  }, { env: { centers, perRecord: PER_RECORD } })
}

const addSums = (a: number[][], b: number[][]): number[][] => a.map((row, i) => row.map((x, j) => x + ((b[i] as number[])[j] as number)))

function nextCenters(sums: number[][], old: number[][]): number[][] {
  return sums.map((s, i) => {
    const n = s[D] as number
    return n === 0 ? (old[i] as number[]) : s.slice(0, D).map((x) => x / n)
  })
}

async function kmeans(ctx: Context, file: string, mode: 'cache' | 'hadoop', killAt?: { iteration: number; cluster: BenchCluster }, level: StorageLevel = 'MEMORY', cpu: number[] = []): Promise<number[]> {
  const times: number[] = []
  cpu.push(cluster.cpuSeconds())
  let centers = Array.from({ length: K }, (_, c) => new Array<number>(D).fill(c - 1.5))
  const cached = mode === 'cache' ? ctx.textFile(file, { minPartitions: 6 }).map(parse).persist(level) : null
  for (let i = 0; i < ITER; i++) {
    if (killAt !== undefined && i + 1 === killAt.iteration) {
      const victim = killAt.cluster.coordinator.aliveWorkers()[0]
      if (victim !== undefined) process.kill(victim.pid, 'SIGKILL')
    }
    const t0 = performance.now()
    let sums: number[][]
    if (cached !== null) sums = await kmeansStep(cached, centers).reduce(addSums)
    else {
      const pts = ctx.textFile(file, { minPartitions: 6 }).map(parse)
      const r = await kmeansStep(pts, centers).map((v) => [0, v] as const).reduceByKey(addSums, { partitions: 1 }).collect()
      sums = (r[0] as readonly [number, number[][]])[1]
    }
    centers = nextCenters(sums, centers)
    times.push(performance.now() - t0)
    cpu.push(cluster.cpuSeconds())
  }
  cached?.unpersist()
  return times
}

// ---- PageRank ----

async function pageRank(ctx: Context, copartitioned: boolean): Promise<number> {
  const pages = 5_000
  const rand = prng(7)
  const edges: (readonly [number, number[]])[] = []
  for (let p = 0; p < pages; p++) edges.push([p, Array.from({ length: 8 }, () => Math.floor(rand() * pages))])
  const P = 6
  let links = ctx.parallelize(edges, P)
  if (copartitioned) links = links.partitionBy(P)
  links.cache()
  let ranks = links.mapValues(() => 1)
  const t0 = performance.now()
  for (let i = 0; i < ITER; i++) {
    const contribs = links.join(ranks).flatMap(([, [outs, rank]]) => outs.map((d) => [d, rank / outs.length] as const))
    ranks = contribs.reduceByKey((a, b) => a + b, { partitions: P }).mapValues((s) => 0.15 + 0.85 * s)
    if (!copartitioned) ranks = ranks.cache()
    await ranks.count()
  }
  const ms = performance.now() - t0
  links.unpersist()
  return ms
}

// ---- main ----

const scratch = join(tmpdir(), 'sy-bench-iterative')
mkdirSync(scratch, { recursive: true })
const file = join(scratch, `points-${POINTS}.txt`)
console.log(`generating ${POINTS} points (${D} dims) into ${file} ...`)
await generatePoints(file, POINTS)
writeFileSync(join(scratch, 'w.json'), JSON.stringify(new Array(D).fill(0)))
console.log(`input: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB; cluster: ${WORKERS} workers on loopback`)

const cluster = await startBenchCluster(WORKERS, 1024)
const detail: Record<string, number[][]> = {}
const record = (key: string, t: number[]): void => void (detail[key] ??= []).push(t)
/** Cumulative CPU seconds of the whole cluster (see cluster.ts) before and after each iteration. */
const cpuDetail: Record<string, number[][]> = {}
const newCpu = (key: string): number[] => {
  const a: number[] = []
  ;(cpuDetail[key] ??= []).push(a)
  return a
}

type Ctx = { ctx: Context }
const contender = (name: string): Contender<Ctx> => ({
  name,
  async start() {
    const ctx = cluster.context()
    return { ctx: { ctx }, stop: () => ctx.stop() }
  },
})
const workloads: Workload<Ctx>[] = [
  {
    name: `logistic regression, ${ITER} iterations`,
    unit: 'iterations/s',
    async run({ ctx }, who) {
      const t = await logisticRegression(ctx, file, who === 'cache' ? 'cache' : 'hadoop', scratch, newCpu(`lr ${who}`))
      record(`lr ${who}`, t)
      return { ops: ITER, seconds: t.reduce((a, b) => a + b, 0) / 1000 }
    },
  },
  {
    name: `k-means (k=${K}), ${ITER} iterations`,
    unit: 'iterations/s',
    async run({ ctx }, who) {
      const t = await kmeans(ctx, file, who === 'cache' ? 'cache' : 'hadoop', undefined, 'MEMORY', newCpu(`km ${who}`))
      record(`km ${who}`, t)
      return { ops: ITER, seconds: t.reduce((a, b) => a + b, 0) / 1000 }
    },
  },
]
try {
  if (!FAULT_ONLY) await runBench<Ctx>({ name: 'iterative', rounds: ROUNDS, contenders: [contender('cache'), contender('hadoop-mode')], workloads })

  const fmt = (ms: number): string => `${ms.toFixed(0)} ms`
  const rows: string[] = []
  const cpuRows: string[] = []
  // CPU per iteration from cumulative readings: later cached iterations = (after 10 - after 1) / 9.
  const cpuPer = (runs: number[][], from: number): number => median(runs.map((c) => ((c[c.length - 1] as number) - (c[from] as number)) / (c.length - 1 - from))) * 1000
  for (const [label, key] of [['logistic regression', 'lr'], ['k-means', 'km']] as const) {
    const cache = detail[`${key} cache`] ?? []
    const hadoop = detail[`${key} hadoop-mode`] ?? []
    const first = median(cache.map((t) => t[0] as number))
    const later = median(cache.flatMap((t) => t.slice(1)))
    const hIter = median(hadoop.flat())
    rows.push(`| ${label} | ${fmt(first)} | ${fmt(later)} | ${fmt(hIter)} | ${(first / later).toFixed(1)}x | ${(hIter / later).toFixed(1)}x |`)
    const cCache = cpuDetail[`${key} cache`] ?? []
    const cFirst = median(cCache.map((c) => ((c[1] as number) - (c[0] as number)) * 1000))
    const cLater = cpuPer(cCache, 1)
    const cHadoop = cpuPer(cpuDetail[`${key} hadoop-mode`] ?? [], 0)
    cpuRows.push(`| ${label} | ${fmt(cFirst)} | ${fmt(cLater)} | ${fmt(cHadoop)} | ${(cFirst / cLater).toFixed(1)}x | ${(cHadoop / cLater).toFixed(1)}x |`)
  }
  // Fault runs: k-means, a worker killed just before iteration 6; MEMORY (lineage) then MEMORY_2.
  const faultRows: string[] = []
  const faultRatios = new Map<StorageLevel, number[]>()
  const calmRatios = new Map<StorageLevel, number[]>()
  for (const level of Array.from({ length: FAULT_ROUNDS }, () => FAULT_LEVELS).flat()) {
    const fctx = cluster.context()
    const fcpu: number[] = []
    const ft = await kmeans(fctx, file, 'cache', { iteration: 6, cluster }, level, fcpu)
    await fctx.stop()
    const normal = median(ft.slice(1, 5))
    // CPU of iteration i = fcpu[i + 1] - fcpu[i] (fcpu[0] is read before the first iteration).
    const iterCpu = (i: number): number => ((fcpu[i + 1] as number) - (fcpu[i] as number)) * 1000
    const cpuNormal = median([1, 2, 3, 4].map(iterCpu))
    const how = level === 'MEMORY' ? 'cache() = MEMORY: lost partitions recomputed from lineage' : "persist('MEMORY_2'): a second copy of every partition on another worker"
    faultRows.push(`| ${how}; per-iteration ms: ${ft.map((x) => x.toFixed(0)).join(', ')} | ${fmt(ft[0] as number)} | ${fmt(ft[5] as number)} | ${fmt(normal)} | ${((ft[5] as number) / normal).toFixed(1)}x | ${fmt(iterCpu(5))} / ${fmt(cpuNormal)} = ${(iterCpu(5) / cpuNormal).toFixed(1)}x |`)
    faultRatios.set(level, [...(faultRatios.get(level) ?? []), (ft[5] as number) / normal])
    // Iterations without a fault (2-5, 7-10) against the same run's normal: the noise a single
    // iteration carries on this machine, to read the fault ratio against.
    calmRatios.set(level, [...(calmRatios.get(level) ?? []), ...[...ft.slice(1, 5), ...ft.slice(6)].map((x) => x / normal)])
    await cluster.addWorker(1024)
  }
  const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number
  const faultSummary = [...faultRatios].map(([level, r]) => {
    const calm = calmRatios.get(level) ?? []
    return `- ${level}: iteration 6 / normal, median ${median(r).toFixed(2)}x over ${r.length} runs (${[...r].sort((a, b) => a - b).map((x) => `${x.toFixed(2)}x`).join(', ')}); iterations without a fault in the same runs: 90th percentile ${quantile(calm, 0.9).toFixed(2)}x, max ${Math.max(...calm).toFixed(2)}x of normal`
  })
  // PageRank
  const pr: Record<string, number[]> = { co: [], plain: [] }
  for (let r = 0; r < (FAULT_ONLY ? 0 : Math.max(1, ROUNDS)); r++) {
    for (const co of r % 2 === 0 ? [true, false] : [false, true]) {
      const c = cluster.context()
      pr[co ? 'co' : 'plain']?.push(await pageRank(c, co))
      await c.stop()
    }
  }
  const co = median(pr.co ?? [])
  const plain = median(pr.plain ?? [])
  const table = [
    `### iterative — ${POINTS.toLocaleString('en-US')} points x ${D} dims (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB text), ${WORKERS} workers on loopback, points read ${PER_RECORD ? 'per record (--per-record)' : 'in batches (records.batches())'}, ${new Date().toISOString()}`,
    `Machine: ${machineLine()}`,
    '',
    ...(FAULT_ONLY ? [] : [
      '| job | first iteration (cache) | later iterations, median (cache) | Hadoop-mode iteration, median | first / later | Hadoop / later |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      '| CPU per iteration (driver + coordinator + all worker processes) | first iteration (cache) | later iterations (cache) | Hadoop-mode iteration | first / later | Hadoop / later |',
      '| --- | --- | --- | --- | --- | --- |',
      ...cpuRows,
      '',
    ]),
    `| fault run (k-means, kill -9 one of ${WORKERS} workers before iteration 6) | first iteration | iteration 6 | normal iteration (median of 2-5) | iteration 6 / normal | CPU: iteration 6 / normal |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...faultRows,
    '',
    ...faultSummary,
    '',
    ...(FAULT_ONLY ? [] : [
      `| PageRank, 5,000 pages x 8 links, ${ITER} iterations | co-partitioned links/ranks | not co-partitioned | speed-up |`,
      '| --- | --- | --- | --- |',
      `| total time | ${fmt(co)} | ${fmt(plain)} | ${(plain / co).toFixed(2)}x |`,
    ]),
  ].join('\n')
  console.log(`\n${table}\n`)
  console.log('raw iteration times (ms):', JSON.stringify(Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, v.map((t) => t.map((x) => Math.round(x)))]))))
} finally {
  await cluster.stop()
}
