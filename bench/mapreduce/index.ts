// bench/mapreduce: word count over a zipf corpus against mawk, a hand-written single-thread Node
// loop and DuckDB (2 threads); sort of gensort-style 100-byte records against GNU sort
// (--parallel=2). Throughput is MB of input per second; the CPU table adds CPU seconds per MB
// (all processes of a contender), which stays meaningful on a busy machine.
//   npm run bench -- mapreduce [--size 200MB|2GB] [--rounds N] [--records N] [--workers N] [--only wordcount|sort]
//                              [--peers mawk,duckdb,node] (word count peers to run; default all)
import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { runBench, machineLine, median, type Contender, type Workload } from '../lib/harness.js'
import { ensureInstalled } from '../lib/install.js'
import { cpuSeconds } from '../lib/proc.js'
import { Context } from '../../src/mapreduce/index.js'
import type { LocalExecutor } from '../../src/mapreduce/local-executor.js'
import { generateCorpus, generateRecords } from './gen.js'
import { shell } from './shell.js'

const args = process.argv.slice(2)
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback
}
const size = flag('size', '200MB')
const rounds = Number(flag('rounds', '2'))
const records = Number(flag('records', '1000000'))
const workers = Number(flag('workers', '2'))
const only = flag('only', 'all')
const peers = flag('peers', 'node,mawk,duckdb').split(',')
const sizeBytes = size === '2GB' ? 2 * 2 ** 30 : 200 * 2 ** 20
const dataDir = join(tmpdir(), 'switchyard-bench-mr')
const corpus = join(dataDir, `corpus-${size}.txt`)
const recordsFile = join(dataDir, `records-${records}.dat`)
const outDir = join(dataDir, 'out')
const here = new URL('.', import.meta.url).pathname

function ensurePeers(): void {
  ensureInstalled('mawk', 'mawk')
  if (!existsSync(join(here, 'node_modules', '@duckdb', 'node-api'))) {
    console.log('installing @duckdb/node-api into bench/mapreduce/node_modules (npm)')
    execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' })
  }
}


const cpuTable = new Map<string, number[]>()
const noteCpu = (key: string, cpu: number, mb: number): void => {
  const list = cpuTable.get(key) ?? []
  list.push(cpu / mb)
  cpuTable.set(key, list)
}

function nodeWordCount(path: string, out: string): void {
  // The hand-written baseline: one thread, 4 MB reads, split, Map, write.
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(4 << 20)
  const counts = new Map<string, number>()
  let carry = ''
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null)
    if (n === 0) break
    const text = carry + buf.toString('utf8', 0, n)
    const last = text.lastIndexOf('\n')
    carry = text.slice(last + 1)
    const lines = text.slice(0, last).split('\n')
    for (const line of lines) for (const w of line.split(' ')) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1)
  }
  for (const w of carry.split(' ')) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1)
  closeSync(fd)
  const lines: string[] = []
  for (const [w, c] of counts) lines.push(`${w}\t${c}`)
  writeFileSync(out, `${lines.join('\n')}\n`)
}

interface DuckConn { run(sql: string): Promise<unknown> }
interface Ctx { sc?: Context; duck?: DuckConn }

function workerCpu(sc: Context): number {
  return (sc.executor as LocalExecutor).workerPids.reduce((a, pid) => a + cpuSeconds(pid), 0)
}

const selfCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }

const wcContenders: Contender<Ctx>[] = [
  { name: `switchyard (${workers} workers)`, async start() { const sc = new Context({ workers }); await sc.range(10).count(); return { ctx: { sc }, stop: () => sc.stop() } } },
  { name: 'node loop (1 thread)', async start() { return { ctx: {}, stop: async () => {} } } },
  { name: 'mawk', async start() { return { ctx: {}, stop: async () => {} } } },
  {
    name: 'duckdb (2 threads)',
    async start() {
      const api = (await import(join(here, 'node_modules/@duckdb/node-api/lib/index.js'))) as { DuckDBInstance: { create(path: string, o: Record<string, string>): Promise<{ connect(): Promise<DuckConn> }> } }
      const inst = await api.DuckDBInstance.create(':memory:', { threads: '2' })
      return { ctx: { duck: await inst.connect() }, stop: async () => {} }
    },
  },
]

const mb = (path: string): number => statSync(path).size / 2 ** 20

const wordcount: Workload<Ctx> = {
  name: `wordcount ${size}`,
  unit: 'MB/s',
  async run(ctx, contender) {
    const out = join(outDir, 'wc')
    rmSync(out, { recursive: true, force: true })
    const input = mb(corpus)
    const t0 = performance.now()
    let cpu = 0
    if (ctx.sc !== undefined) {
      const c0 = workerCpu(ctx.sc) + selfCpu()
      await ctx.sc.textFile(corpus).flatMap((l) => l.split(' ')).filter((w) => w !== '').map((w) => [w, 1] as const).reduceByKey((a, b) => a + b).saveAsTextFile(out)
      cpu = workerCpu(ctx.sc) + selfCpu() - c0
    } else if (ctx.duck !== undefined) {
      const c0 = selfCpu()
      await ctx.duck.run(`COPY (SELECT w, count(*) AS n FROM (SELECT unnest(string_split(line, ' ')) AS w FROM read_csv('${corpus}', columns={'line': 'VARCHAR'}, header=false, delim='\t', quote='', escape='', auto_detect=false)) WHERE w <> '' GROUP BY w) TO '${out}' (HEADER false)`)
      cpu = selfCpu() - c0
    } else if (contender === 'mawk') {
      cpu = await shell(`mawk '{for(i=1;i<=NF;i++) c[$i]++} END {for(w in c) print w "\\t" c[w]}' '${corpus}' > '${out}'`)
    } else {
      const c0 = selfCpu()
      nodeWordCount(corpus, out)
      cpu = selfCpu() - c0
    }
    const seconds = (performance.now() - t0) / 1000
    noteCpu(`${wordcount.name}|${contender}`, cpu, input)
    return { ops: input, seconds }
  },
}

const sortContenders: Contender<Ctx>[] = [
  { name: `switchyard (${workers} workers)`, async start() { const sc = new Context({ workers }); await sc.range(10).count(); return { ctx: { sc }, stop: () => sc.stop() } } },
  { name: 'GNU sort --parallel=2', async start() { return { ctx: {}, stop: async () => {} } } },
]

const sort: Workload<Ctx> = {
  name: `sort ${records} x 100-byte records`,
  unit: 'MB/s',
  async run(ctx, contender) {
    const out = join(outDir, 'sort')
    rmSync(out, { recursive: true, force: true })
    const input = mb(recordsFile)
    const t0 = performance.now()
    let cpu = 0
    if (ctx.sc !== undefined) {
      const c0 = workerCpu(ctx.sc) + selfCpu()
      const recs = ctx.sc.textFile(recordsFile)
      await recs.map((line) => [line.slice(0, 10), line.slice(10)] as const).sortByKey(true, { partitions: recs.partitions }).map(([k, v]) => k + v).saveAsTextFile(out)
      cpu = workerCpu(ctx.sc) + selfCpu() - c0
    } else {
      cpu = await shell(`LC_ALL=C sort --parallel=2 -T '${outDir}' -o '${out}' '${recordsFile}'`)
    }
    const seconds = (performance.now() - t0) / 1000
    noteCpu(`${sort.name}|${contender}`, cpu, input)
    return { ops: input, seconds }
  },
}

ensurePeers()
console.log(`generating data under ${dataDir} (cached between runs)`)
if (only !== 'sort') generateCorpus(corpus, sizeBytes)
if (only !== 'wordcount') generateRecords(recordsFile, records)
mkdirSync(outDir, { recursive: true })
const started = new Date().toISOString()
const wcRun = wcContenders.filter((c, i) => i === 0 || peers.some((p) => c.name.startsWith(p)))
if (only !== 'sort') await runBench({ name: `mapreduce-wordcount-${size}`, rounds, contenders: wcRun, workloads: [wordcount] })
if (only !== 'wordcount') await runBench({ name: 'mapreduce-sort', rounds, contenders: sortContenders, workloads: [sort] })
rmSync(outDir, { recursive: true, force: true })

const cpuLines = ['| workload | contender | CPU s per MB (median) |', '| --- | --- | --- |']
for (const [key, vals] of cpuTable) {
  const [w, c] = key.split('|')
  cpuLines.push(`| ${w} | ${c} | ${median(vals).toFixed(3)} |`)
}
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log(`\n${cpuLines.join('\n')}\n\nstarted ${started}; machine: ${machineLine()}; load average at end: ${loadavg}`)
