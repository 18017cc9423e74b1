// bench/mapreduce/generic: the generic path (no lambda-shape matching) against the fused one and
// a single-process peer, on several natural spellings of the same jobs (issue #18). Each job runs
// on a Context with fused stages on, one with them off (`fused: false`) and, where one applies,
// mawk or GNU sort; contenders alternate within each round. Prints MB/s (input bytes / wall
// time), CPU seconds per MB (all processes of a contender: meaningful on a busy machine) and
// median ratios, and checks that fused on and off wrote byte-identical output.
//   npm run bench -- mapreduce/generic [--size 50MB|200MB] [--rounds N] [--workers N]
//                                      [--only wc-classic,join,...] [--contenders on,off,peer,floor]
// `floor` (word counts only) is js-floor.mjs: the spelling's per-record code in one hand-written
// loop in one process, no engine; twice its rate bounds two string-making workers on this machine.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { machineLine, median } from '../lib/harness.js'
import { ensureInstalled } from '../lib/install.js'
import { cpuSeconds } from '../lib/proc.js'
import { Context, type Dataset } from '../../src/mapreduce/index.js'
import type { LocalExecutor } from '../../src/mapreduce/local-executor.js'
import { generateCorpus, generateEvents } from './gen.js'
import { shell } from './shell.js'

const args = process.argv.slice(2)
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback
}
const size = flag('size', '50MB')
const sizeMatch = /^(\d+)MB$/.exec(size)
if (sizeMatch === null) throw new Error(`--size expects NNNMB, got "${size}"`)
const sizeBytes = Number(sizeMatch[1]) * 2 ** 20
const rounds = Number(flag('rounds', '2'))
const workers = Number(flag('workers', '2'))
const only = flag('only', 'all').split(',')
const contenders = flag('contenders', 'on,off,peer,floor').split(',')
const dataDir = join(tmpdir(), 'switchyard-bench-mr')
const corpus = join(dataDir, `corpus-${size}.txt`)
const events = join(dataDir, `events-${size}.csv`)
const users = join(dataDir, 'users-100k.csv')
const outDir = join(dataDir, 'out-generic')

interface Event { id: number; user: string; amount: number; item: string }

/** The parse every record job starts with: a CSV line to an object record. */
const parseEvent = (l: string): Event => {
  const f = l.split(',')
  return { id: Number(f[0]), user: f[1] as string, amount: Number(f[2]), item: f[3] as string }
}

interface Job {
  name: string
  /** What the spelling is, for the table. */
  spelling: string
  inputs: string[]
  run(sc: Context, out: string): Promise<void>
  /** A shell command doing the same work single-process (mawk / GNU sort), or undefined. */
  peer?: { name: string; cmd(out: string): string }
  /** The spelling's name in js-floor.mjs: the same per-record code in one hand-written loop, no engine. */
  floor?: string
}

const FLOOR = 'js floor (1 process)'
const floorScript = new URL('./js-floor.mjs', import.meta.url).pathname
const floorCmd = (spelling: string, input: string, out: string): string => `'${process.execPath}' '${floorScript}' ${spelling} '${input}' '${out}'`

const mawkWc = { name: 'mawk', cmd: (out: string) => `mawk '{for(i=1;i<=NF;i++) c[$i]++} END {for(w in c) print w "\\t" c[w]}' '${corpus}' > '${out}'` }
const mawkWcLower = { name: 'mawk', cmd: (out: string) => `mawk '{$0=tolower($0); for(i=1;i<=NF;i++) c[$i]++} END {for(w in c) print w "\\t" c[w]}' '${corpus}' > '${out}'` }

const jobs: Job[] = [
  {
    name: 'wc-classic',
    spelling: "split(' '), filter(w => w !== ''), [w, 1], (a, b) => a + b",
    inputs: [corpus],
    run: (sc, out) => sc.textFile(corpus).flatMap((l) => l.split(' ')).filter((w) => w !== '').map((w) => [w, 1] as const).reduceByKey((a, b) => a + b).saveAsTextFile(out),
    peer: mawkWc,
    floor: 'classic',
  },
  {
    name: 'wc-example',
    spelling: 'examples/wordcount.ts: split(/\\s+/), length > 0, [w, 1], a + b, map to "w\\tn"',
    inputs: [corpus],
    run: (sc, out) =>
      sc.textFile(corpus).flatMap((line) => line.split(/\s+/)).filter((w) => w.length > 0).map((w) => [w, 1] as const).reduceByKey((a, b) => a + b).map(([w, n]) => `${w}\t${n}`).saveAsTextFile(out),
    peer: mawkWc,
    floor: 'example',
  },
  {
    name: 'wc-regex-lower',
    spelling: 'toLowerCase().split(/ +/), length > 0, [w, 1], (x, y) => y + x',
    inputs: [corpus],
    run: (sc, out) => sc.textFile(corpus).flatMap((l) => l.toLowerCase().split(/ +/)).filter((w) => w.length > 0).map((w) => [w, 1] as const).reduceByKey((x, y) => y + x).saveAsTextFile(out),
    peer: mawkWcLower,
    floor: 'lower',
  },
  {
    name: 'wc-objects',
    spelling: '{ word, n } records, keyBy(r => r.word), mapValues(r => r.n), (x, y) => y + x',
    inputs: [corpus],
    run: (sc, out) =>
      sc.textFile(corpus)
        .flatMap((l) => l.split(/\s+/))
        .filter(Boolean)
        .map((w) => ({ word: w.toLowerCase(), n: 1 }))
        .keyBy((r) => r.word)
        .mapValues((r) => r.n)
        .reduceByKey((x, y) => y + x)
        .map(([w, n]) => `${w}\t${n}`)
        .saveAsTextFile(out),
    peer: mawkWcLower,
    floor: 'objects',
  },
  {
    name: 'join',
    spelling: 'events and users as objects, keyBy user, join, map to CSV',
    inputs: [events, users],
    run: (sc, out) => {
      const ev = sc.textFile(events).map(parseEvent).keyBy((e) => e.user)
      const us = sc.textFile(users).map((l) => { const f = l.split(','); return { user: f[0] as string, name: f[1] as string, country: f[2] as string } }).keyBy((u) => u.user)
      return ev.join(us).map(([, [e, u]]) => `${e.id},${u.country},${e.amount}`).saveAsTextFile(out)
    },
    peer: { name: 'mawk (hash join)', cmd: (out) => `mawk -F, 'NR==FNR{c[$1]=$3;next} ($2 in c){print $1 "," c[$2] "," $3}' '${users}' '${events}' > '${out}'` },
  },
  {
    name: 'groupByKey',
    spelling: 'events as objects, keyBy user, groupByKey, count and sum per user',
    inputs: [events],
    run: (sc, out) =>
      (sc.textFile(events).map(parseEvent).keyBy((e) => e.user).groupByKey() as Dataset<readonly [string, Event[]]>)
        .map(([u, es]) => { let s = 0; for (const e of es) s += e.amount; return `${u}\t${es.length}\t${s}` })
        .saveAsTextFile(out),
    peer: { name: 'mawk (count, sum)', cmd: (out) => `mawk -F, '{n[$2]++; s[$2]+=$3} END {for(u in n) print u "\\t" n[u] "\\t" s[u]}' '${events}' > '${out}'` },
  },
  {
    name: 'sortBy',
    spelling: 'events as objects, sortBy(e => e.amount), map to CSV',
    inputs: [events],
    run: (sc, out) => sc.textFile(events).map(parseEvent).sortBy((e) => e.amount).map((e) => `${e.id},${e.user},${e.amount},${e.item}`).saveAsTextFile(out),
    peer: { name: 'GNU sort -k3,3n --parallel=2', cmd: (out) => `LC_ALL=C sort -s -t, -k3,3n --parallel=${workers} -T '${outDir}' -o '${out}' '${events}'` },
  },
]


const selfCpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
const workerCpu = (sc: Context): number => (sc.executor as LocalExecutor).workerPids.reduce((a, pid) => a + cpuSeconds(pid), 0)
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/** SHA-1 of the part files of a save, in name order. */
function outputHash(out: string): string {
  const h = createHash('sha1')
  for (const f of readdirSync(out).filter((x) => x.startsWith('part-')).sort()) h.update(readFileSync(join(out, f)))
  return h.digest('hex').slice(0, 12)
}

interface Row { job: string; contender: string; round: number; mbPerSec: number; cpuPerMb: number; load: string }

if (contenders.includes('peer')) ensureInstalled('mawk', 'mawk')
console.log(`generating data under ${dataDir} (cached between runs)`)
generateCorpus(corpus, sizeBytes)
generateEvents(events, users, sizeBytes)
mkdirSync(outDir, { recursive: true })
const started = new Date().toISOString()
const loadStart = loadavg()
const contexts = new Map<string, Context>()
if (contenders.includes('on')) contexts.set('fused on', new Context({ workers }))
if (contenders.includes('off')) contexts.set('fused off', new Context({ workers, fused: false }))
for (const sc of contexts.values()) await sc.range(10).count()
const rows: Row[] = []
const checks: string[] = []
try {
  for (const job of jobs.filter((j) => only.includes('all') || only.includes(j.name))) {
    const mb = job.inputs.reduce((a, f) => a + statSync(f).size, 0) / 2 ** 20
    const names = [
      ...contexts.keys(),
      ...(job.peer !== undefined && contenders.includes('peer') ? [job.peer.name] : []),
      ...(job.floor !== undefined && contenders.includes('floor') ? [FLOOR] : []),
    ]
    for (let round = 0; round < rounds; round++) {
      const hashes = new Map<string, string>()
      const order = round % 2 === 0 ? names : [...names].reverse()
      for (const name of order) {
        const out = join(outDir, `${job.name}-${name.replace(/\W+/g, '-')}`)
        rmSync(out, { recursive: true, force: true })
        const sc = contexts.get(name)
        const t0 = performance.now()
        let cpu: number
        if (sc !== undefined) {
          const c0 = workerCpu(sc) + selfCpu()
          await job.run(sc, out)
          cpu = workerCpu(sc) + selfCpu() - c0
          if (round === 0) hashes.set(name, outputHash(out))
        } else if (name === FLOOR) {
          cpu = await shell(floorCmd(job.floor as string, job.inputs[0] as string, out))
        } else {
          cpu = await shell((job.peer as NonNullable<Job['peer']>).cmd(out))
        }
        const seconds = (performance.now() - t0) / 1000
        const row: Row = { job: job.name, contender: name, round, mbPerSec: mb / seconds, cpuPerMb: cpu / mb, load: loadavg() }
        rows.push(row)
        console.log(`  ${job.name} round ${round + 1}/${rounds} ${name}: ${row.mbPerSec.toFixed(1)} MB/s, ${row.cpuPerMb.toFixed(3)} CPU s/MB (${seconds.toFixed(2)} s, load ${row.load})`)
        rmSync(out, { recursive: true, force: true })
      }
      if (hashes.size === 2) {
        const [a, b] = [...hashes.values()]
        checks.push(`${job.name}: fused on and off outputs ${a === b ? 'identical' : `DIFFER (${a} vs ${b})`}`)
      }
    }
  }
} finally {
  for (const sc of contexts.values()) await sc.stop()
  rmSync(outDir, { recursive: true, force: true })
}

const med = (job: string, c: string, f: (r: Row) => number): number => median(rows.filter((r) => r.job === job && r.contender === c).map(f))
const lines = [
  `| job | input MB | contender | MB/s (median) | CPU s/MB (median) | MB/s vs peer | MB/s vs fused off | MB/s vs 2 x js floor |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
]
for (const job of jobs) {
  const mine = rows.filter((r) => r.job === job.name)
  if (mine.length === 0) continue
  const mb = job.inputs.reduce((a, f) => a + statSync(f).size, 0) / 2 ** 20
  const peer = job.peer?.name
  const peerRate = peer === undefined ? Number.NaN : med(job.name, peer, (r) => r.mbPerSec)
  const offRate = med(job.name, 'fused off', (r) => r.mbPerSec)
  const floorRate = med(job.name, FLOOR, (r) => r.mbPerSec)
  for (const c of [...new Set(mine.map((r) => r.contender))]) {
    const rate = med(job.name, c, (r) => r.mbPerSec)
    const vsPeer = c === peer || Number.isNaN(peerRate) ? '' : `${(rate / peerRate).toFixed(2)}x`
    const vsOff = c === 'fused on' && !Number.isNaN(offRate) ? `${(rate / offRate).toFixed(2)}x` : ''
    const vsFloor = c.startsWith('fused') && !Number.isNaN(floorRate) ? `${(rate / (2 * floorRate)).toFixed(2)}x` : ''
    lines.push(`| ${job.name} | ${mb.toFixed(0)} | ${c} | ${rate.toFixed(1)} | ${med(job.name, c, (r) => r.cpuPerMb).toFixed(3)} | ${vsPeer} | ${vsOff} | ${vsFloor} |`)
  }
}
const spellings = jobs.filter((j) => rows.some((r) => r.job === j.name)).map((j) => `- ${j.name}: ${j.spelling}`)
const footer = `started ${started}; ${rounds} rounds, ${workers} workers; machine: ${machineLine()}; load average at start ${loadStart}, at end ${loadavg()}`
console.log(`\n${lines.join('\n')}\n\n${spellings.join('\n')}\n\n${checks.join('\n')}\n\n${footer}`)
const resultsDir = join(new URL('../results', import.meta.url).pathname)
mkdirSync(resultsDir, { recursive: true })
writeFileSync(join(resultsDir, `mapreduce-generic-${size}-${started.replace(/[:.]/g, '-')}.json`), `${JSON.stringify({ started, size, rounds, workers, rows, checks, machine: machineLine() }, null, 2)}\n`)
if (checks.some((c) => c.includes('DIFFER'))) process.exitCode = 1
