// bench/mapreduce/cluster-shuffle: shuffle-heavy jobs on a 3-worker loopback cluster, where every
// record crosses a worker's block server (frames of 256 KiB, each with a MAC since issue #24) and
// task launches and results cross the coordinator. Prints the median wall time and CPU seconds
// per job over the rounds; run it on two builds to compare them.
//   node --import tsx bench/mapreduce/cluster-shuffle.ts [--records 1000000] [--rounds 3] [--partitions 12]
import { startBenchCluster } from '../iterative/cluster.js'
import { machineLine, median } from '../lib/harness.js'

const args = process.argv.slice(2)
const flag = (name: string, d: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const RECORDS = flag('records', 1_000_000)
const ROUNDS = flag('rounds', 3)
const P = flag('partitions', 12)
const VALUE_BYTES = 90

const cluster = await startBenchCluster(3, 1024)
const rows: { job: string; ms: number[]; cpu: number[] }[] = [
  { job: `groupByKey of ${RECORDS} x ${VALUE_BYTES} B values, ${P} partitions`, ms: [], cpu: [] },
  { job: `sortByKey of ${RECORDS} records, ${P} partitions`, ms: [], cpu: [] },
]
try {
  for (let round = 0; round < ROUNDS; round++) {
    const ctx = cluster.context()
    try {
      const perPart = Math.ceil(RECORDS / P)
      const records = ctx
        .parallelize(Array.from({ length: P }, (_, i) => i), P)
        .flatMap(
          (i, env) => {
            const { n, pad } = env as { n: number; pad: string }
            const out: [number, string][] = []
            for (let j = 0; j < n; j++) out.push([(j * 2654435761 + i * 40503) % 200_003, pad])
            return out
          },
          { env: { n: perPart, pad: 'v'.repeat(VALUE_BYTES) } },
        )
      const jobs = [() => records.groupByKey({ partitions: P }).count(), () => records.sortByKey(true, { partitions: P }).count()]
      for (const [k, job] of jobs.entries()) {
        const cpu0 = cluster.cpuSeconds()
        const t0 = performance.now()
        await job()
        const row = rows[k] as (typeof rows)[number]
        row.ms.push(performance.now() - t0)
        row.cpu.push(cluster.cpuSeconds() - cpu0)
      }
    } finally {
      await ctx.stop()
    }
  }
} finally {
  await cluster.stop()
}
console.log(machineLine())
console.log(`| job | median wall ms | median cluster CPU s | rounds (wall ms) |`)
console.log(`| --- | --- | --- | --- |`)
for (const r of rows) console.log(`| ${r.job} | ${median(r.ms).toFixed(0)} | ${median(r.cpu).toFixed(2)} | ${r.ms.map((m) => m.toFixed(0)).join(', ')} |`)
