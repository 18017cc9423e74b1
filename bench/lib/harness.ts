// Benchmark harness: runs "ours" and its peers alternately for R rounds on the same workloads,
// records throughput, latency percentiles (HDR histogram), server CPU seconds and peak RSS, prints
// a table with median ratios and writes the raw results as JSON under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, hostname, totalmem } from 'node:os'
import { join } from 'node:path'
import * as hdr from 'hdr-histogram-js'
import { cpuSeconds, peakRssBytes } from './proc.js'

export interface RunningServer {
  /** Process whose CPU and RSS are measured; omit for in-process contenders. */
  pid?: number
  /** Several processes (a cluster): CPU is their sum, peak RSS the sum of their peaks. Overrides `pid`. */
  pids?: number[]
  stop(): Promise<void>
}

export interface Contender<S = unknown> {
  name: string
  /** Starts the server under test for one workload; reused across that workload's rounds. */
  start(workload: string): Promise<RunningServer & { ctx: S }>
}

export interface Sample {
  /** Operations completed (messages delivered, requests answered, bytes processed...). */
  ops: number
  seconds: number
  /** Latency histogram in microseconds, if the workload measures latency. */
  latency?: hdr.Histogram
}

export interface Workload<S = unknown> {
  name: string
  /** Unit of `ops` for the table header, e.g. "deliveries/s". */
  unit: string
  run(ctx: S, contender: string): Promise<Sample>
}

export interface RoundResult {
  workload: string
  contender: string
  round: number
  opsPerSec: number
  p50Us: number | null
  p99Us: number | null
  cpuSec: number | null
  cpuSecPerMillionOps: number | null
  peakRssMb: number | null
}

export interface BenchOptions<S> {
  name: string
  rounds: number
  /** The first contender is "ours"; ratios are ours / peer. */
  contenders: Contender<S>[]
  workloads: Workload<S>[]
  /** Directory for the JSON output. Default bench/results. */
  outDir?: string
  log?: (line: string) => void
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  if (s.length === 0) return Number.NaN
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export function machineLine(): string {
  const cpu = cpus()
  return `${hostname()}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`
}

function fmt(n: number | null, digits = 0): string {
  if (n === null || Number.isNaN(n)) return '-'
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

function medianOf(rows: RoundResult[], key: keyof RoundResult): number | null {
  const vals = rows.map((r) => r[key]).filter((v): v is number => typeof v === 'number')
  return vals.length === 0 ? null : median(vals)
}

export interface Summary {
  workload: string
  unit: string
  contender: string
  opsPerSec: number | null
  p50Us: number | null
  p99Us: number | null
  cpuSecPerMillionOps: number | null
  peakRssMb: number | null
  /** ours / this contender, median over rounds (throughput); null for ours. */
  ratio: number | null
}

export async function runBench<S>(options: BenchOptions<S>): Promise<{ results: RoundResult[]; summary: Summary[]; table: string }> {
  const log = options.log ?? ((l: string) => console.log(l))
  const results: RoundResult[] = []
  for (const workload of options.workloads) {
    const servers = new Map<string, RunningServer & { ctx: S }>()
    try {
      for (const c of options.contenders) servers.set(c.name, await c.start(workload.name))
      for (let round = 0; round < options.rounds; round++) {
        // Alternate the order each round so neither side always runs on a warmer machine.
        const order = round % 2 === 0 ? options.contenders : [...options.contenders].reverse()
        for (const c of order) {
          const server = servers.get(c.name)
          if (server === undefined) continue
          const pids = server.pids ?? (server.pid === undefined ? [] : [server.pid])
          const cpuOf = (): number => pids.reduce((sum, p) => sum + cpuSeconds(p), 0)
          const cpuBefore = pids.length === 0 ? null : cpuOf()
          const sample = await workload.run(server.ctx, c.name)
          const cpu = cpuBefore === null ? null : cpuOf() - cpuBefore
          const row: RoundResult = {
            workload: workload.name,
            contender: c.name,
            round,
            opsPerSec: sample.ops / sample.seconds,
            p50Us: sample.latency ? sample.latency.getValueAtPercentile(50) : null,
            p99Us: sample.latency ? sample.latency.getValueAtPercentile(99) : null,
            cpuSec: cpu,
            cpuSecPerMillionOps: cpu === null || sample.ops === 0 ? null : (cpu / sample.ops) * 1e6,
            peakRssMb: pids.length === 0 ? null : pids.reduce((sum, p) => sum + peakRssBytes(p), 0) / 2 ** 20,
          }
          results.push(row)
          log(`  ${workload.name} round ${round + 1}/${options.rounds} ${c.name}: ${fmt(row.opsPerSec)} ${workload.unit}`)
        }
      }
    } finally {
      for (const s of servers.values()) await s.stop().catch(() => {})
    }
  }

  const summary: Summary[] = []
  for (const workload of options.workloads) {
    const ours = options.contenders[0]?.name
    const oursRows = results.filter((r) => r.workload === workload.name && r.contender === ours)
    for (const c of options.contenders) {
      const rows = results.filter((r) => r.workload === workload.name && r.contender === c.name)
      let ratio: number | null = null
      if (c.name !== ours) {
        // Ratio per round (same round, adjacent in time), then the median of those ratios.
        const ratios = rows
          .map((r) => {
            const o = oursRows.find((x) => x.round === r.round)
            return o === undefined || r.opsPerSec === 0 ? null : o.opsPerSec / r.opsPerSec
          })
          .filter((v): v is number => v !== null)
        ratio = ratios.length === 0 ? null : median(ratios)
      }
      summary.push({
        workload: workload.name,
        unit: workload.unit,
        contender: c.name,
        opsPerSec: medianOf(rows, 'opsPerSec'),
        p50Us: medianOf(rows, 'p50Us'),
        p99Us: medianOf(rows, 'p99Us'),
        cpuSecPerMillionOps: medianOf(rows, 'cpuSecPerMillionOps'),
        peakRssMb: medianOf(rows, 'peakRssMb'),
        ratio,
      })
    }
  }

  const header = ['workload', 'contender', 'throughput', 'p50 µs', 'p99 µs', 'CPU s / 1M ops', 'peak RSS MB', 'ours / peer']
  const body = summary.map((s) => [
    s.workload,
    s.contender,
    `${fmt(s.opsPerSec)} ${s.unit}`,
    fmt(s.p50Us),
    fmt(s.p99Us),
    fmt(s.cpuSecPerMillionOps, 2),
    fmt(s.peakRssMb),
    s.ratio === null ? '' : `${fmt(s.ratio, 2)}x`,
  ])
  const date = new Date().toISOString()
  const table = [
    `### ${options.name} — ${options.rounds} rounds, median; ${date}`,
    `Machine: ${machineLine()}`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
  log(`\n${table}\n`)

  const outDir = options.outDir ?? join(process.cwd(), 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `${options.name}-${date.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify({ name: options.name, date, machine: machineLine(), rounds: options.rounds, summary, results }, null, 2))
  log(`results written to ${file}`)
  return { results, summary, table }
}
