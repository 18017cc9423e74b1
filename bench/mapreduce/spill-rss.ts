// Spill acceptance run: 10M distinct keys through reduceByKey with memoryPerWorkerMb 128; checks
// the result and reports each worker's peak RSS (VmHWM). Heavy, so it is a script, not a test:
//   node --import tsx bench/mapreduce/spill-rss.ts [keys] [memoryPerWorkerMb]
import { readFileSync } from 'node:fs'
import { Context } from '../../src/mapreduce/index.js'
import type { LocalExecutor } from '../../src/mapreduce/local-executor.js'

export interface SpillResult {
  keys: number
  seconds: number
  peakRssMb: number[]
  spillMb: number
  distinct: number
  total: number
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

export async function spillRun(keys: number, memoryPerWorkerMb: number, workers = 2): Promise<SpillResult> {
  const sc = new Context({ workers, memoryPerWorkerMb })
  try {
    const t0 = performance.now()
    const counts = sc
      .range(keys, undefined, 1, 16)
      .map((i) => [`key-${i.toString(36)}-${(i * 2654435761) % 1000}`, 1] as const)
      .reduceByKey((a, b) => a + b, { partitions: 16 })
    const [distinct, total] = await counts.aggregate(
      [0, 0] as [number, number],
      (acc, kv) => [acc[0] + 1, acc[1] + kv[1]] as [number, number],
      (a, b) => [a[0] + b[0], a[1] + b[1]] as [number, number],
    )
    const seconds = (performance.now() - t0) / 1000
    const pids = (sc.executor as LocalExecutor).workerPids
    const peakRssMb = pids.map(vmHwmMb)
    const spillMb = sc.jobs().flatMap((j) => j.stages).reduce((a, s) => a + s.spillBytes, 0) / 2 ** 20
    return { keys, seconds, peakRssMb, spillMb, distinct, total }
  } finally {
    await sc.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = Number(process.argv[2] ?? 10_000_000)
  const mem = Number(process.argv[3] ?? 128)
  const r = await spillRun(keys, mem)
  console.log(JSON.stringify(r))
  const ok = r.distinct === keys && r.total === keys && r.peakRssMb.every((m) => m < 400)
  console.log(ok ? 'PASS' : 'FAIL', `${keys} keys, memoryPerWorkerMb ${mem}: ${r.seconds.toFixed(1)} s, worker peak RSS ${r.peakRssMb.map((m) => m.toFixed(0)).join(' / ')} MB, spilled ${r.spillMb.toFixed(0)} MB`)
  process.exitCode = ok ? 0 : 1
}
