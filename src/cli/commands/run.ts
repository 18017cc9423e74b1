// `switchyard run job.ts`: loads a job file (TypeScript through tsx's API, or JavaScript), makes a
// Context from the flags, calls the job's default export with it and the job arguments, then prints
// the job summary. Flags map to ContextOptions; nothing else happens here.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inspect } from 'node:util'
import type { Command } from '../command-table.js'
import { parseFlags } from '../flags.js'
import { reexec, whenWrapperGone } from '../reexec.js'
import { UsageError } from '../../internal/errors.js'
import { tsxImportArgs, tsxPreloaded } from '../../internal/tsx.js'
import { Context, JobError, JobErrorCodes, formatSummary, type ContextOptions, type Executor } from '../../mapreduce/index.js'
import { ClusterExecutor } from '../../mapreduce/cluster/index.js'

const HELP = `Usage: switchyard run <job.ts|job.js> [options] [-- job arguments]

Runs a MapReduce job file. The file's default export is called with a Context and the job
arguments:  export default async function (sc: Context, args: string[]) { ... }
A value it returns (other than undefined) is printed to stdout as JSON.

Options:
  --workers N                 Worker processes (default: CPU count)
  --memory-per-worker-mb N    Aggregation/sort memory per worker before spilling (default 512)
  --partitions N              Default partitions for parallelize/range/shuffles (default 2 x workers)
  --split-mb N                Target text input split size in MiB (default 32)
  --max-result-mb N           Largest collect()/take() result, all partitions together
                              (default 1024, or a quarter of the heap limit if less)
  --task-timeout-ms N         Fail (and retry) a task attempt running longer than this (default: no limit)
  --scratch-dir DIR           Where shuffle and spill files go (default: the OS temp dir)
  --progress / --no-progress  Progress bars on stderr (default: on when stderr is a terminal)
  --summary-json FILE         Write the job summaries (stages, tasks, shuffle and spill bytes) as JSON
  --quiet                     Do not print the summary
  --master sy://HOST:PORT     Run on a cluster coordinator instead of local worker processes
  --secret-file PATH          Cluster shared secret (else SWITCHYARD_SECRET)

Environment:
  SWITCHYARD_FUSED=off        Run every task on the generic path, no fused byte-level stages
                              (the Context option fused: false); "on" is the default
`

interface RunFlags {
  file: string
  jobArgs: string[]
  values: Map<string, string>
  bools: Set<string>
}

const VALUED = ['workers', 'memory-per-worker-mb', 'partitions', 'split-mb', 'max-result-mb', 'task-timeout-ms', 'scratch-dir', 'summary-json', 'master', 'secret-file']
const BOOLS = ['progress', 'no-progress', 'quiet']

function parse(argv: readonly string[]): RunFlags {
  const dashdash = argv.indexOf('--')
  const own = dashdash >= 0 ? argv.slice(0, dashdash) : argv
  const jobArgs = dashdash >= 0 ? argv.slice(dashdash + 1) : []
  const { values, bools, positionals } = parseFlags(own, VALUED, BOOLS, true)
  if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"; put job arguments after --`)
  const file = positionals[0]
  if (file === undefined) throw new UsageError('Missing job file: switchyard run <job.ts>')
  return { file, jobArgs, values, bools }
}

function int(flags: RunFlags, name: string): number | undefined {
  const v = flags.values.get(name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`Flag "--${name}" expects a positive integer, got "${v}"`)
  return n
}

/** SWITCHYARD_FUSED: "on" or "off" (unset or empty: the Context's default). */
export function fusedFromEnv(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined
  if (v === 'on' || v === 'off') return v === 'on'
  throw new UsageError(`Environment variable SWITCHYARD_FUSED is "${v}"; expected "on" or "off"`)
}

async function clusterExecutor(master: string, secretFile: string | undefined): Promise<Executor> {
  const secret = secretFile !== undefined ? readFileSync(secretFile, 'utf8').trim() : (process.env.SWITCHYARD_SECRET ?? '')
  return new ClusterExecutor({ master, secret, app: 'switchyard run' })
}

type JobMain = (sc: Context, args: string[]) => unknown

/** The nearest package.json above `file`, with its "type" ('' when it has none), or null. */
function nearestPackage(file: string): { path: string; type: string } | null {
  for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json')
    if (existsSync(path)) {
      try {
        const type = (JSON.parse(readFileSync(path, 'utf8')) as { type?: unknown }).type
        return { path, type: typeof type === 'string' ? type : '' }
      } catch {
        return { path, type: '' }
      }
    }
    if (dirname(dir) === dir) return null
  }
}

/**
 * tsx compiles a .ts/.tsx file as CommonJS unless its package says "type": "module", and the
 * error then speaks of the "cjs" output format: say so, and what to do, when that is the cause.
 */
function commonJsHint(file: string, err: unknown): string {
  if (!/\.tsx?$/.test(file)) return ''
  const message = err instanceof Error ? err.message : String(err)
  if (!/\bcjs\b|top-level await|ERR_REQUIRE_ESM|import\.meta|outside a module/i.test(message)) return ''
  const pkg = nearestPackage(file)
  if (pkg !== null && pkg.type === 'module') return ''
  const where = pkg === null ? 'no package.json above it' : `${pkg.path} has no "type": "module"`
  const rename = file.endsWith('.ts') ? `rename it to ${basename(file).slice(0, -3)}.mts or ` : ''
  return ` (the file is compiled as CommonJS because ${where}; ${rename}add "type": "module" to its package.json)`
}

const TS_JOB = /\.[cm]?tsx?$/

/**
 * A TypeScript job file needs tsx's loader from the start, as `node --import tsx` has it: registered
 * later through tsx's API, a .ts file outside a "type": "module" package (which tsx compiles as
 * CommonJS) failed to load ("Cannot require() ES Module ... in a cycle") or came back as
 * `{ default: { default: fn } }`. So the command runs itself again with the loader preloaded.
 */
function tsxExecArgv(): string[] | null {
  const tsx = tsxImportArgs()
  return tsx === null ? null : [...process.execArgv, ...tsx]
}

async function loadJob(file: string): Promise<JobMain> {
  const url = pathToFileURL(resolve(file)).href
  let mod: { default?: unknown }
  try {
    mod = (await import(url)) as { default?: unknown }
  } catch (err) {
    throw new JobError(JobErrorCodes.BAD_JOB_FILE, `Cannot load job file ${file}: ${(err as Error).message}${commonJsHint(file, err)}`, { cause: err })
  }
  if (typeof mod.default !== 'function') throw new JobError(JobErrorCodes.BAD_JOB_FILE, `Job file ${file} has no default export function (export default async function (sc, args) { ... })`)
  return mod.default as JobMain
}

/** The job's return value as JSON, or ERR_JOB_RESULT_NOT_JSON saying why it cannot be printed. */
function resultJson(result: unknown, file: string): string {
  try {
    return JSON.stringify(result) ?? 'null'
  } catch (err) {
    const why = /BigInt/i.test((err as Error).message) ? 'it holds a bigint' : /circular/i.test((err as Error).message) ? 'it holds a circular reference' : (err as Error).message
    throw new JobError(JobErrorCodes.RESULT_NOT_JSON, `The value returned by the job in ${file} cannot be printed as JSON: ${why}; return plain data (convert bigints with String(n)) or print it yourself and return nothing`, { cause: err })
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const flags = parse(argv)
    if (TS_JOB.test(flags.file) && !tsxPreloaded() && process.env['SWITCHYARD_REEXEC'] !== '1') {
      const execArgv = tsxExecArgv()
      if (execArgv === null) throw new JobError(JobErrorCodes.BAD_JOB_FILE, `Cannot load job file ${flags.file}: TypeScript job files need the tsx package, which is not installed`)
      return reexec(execArgv, (err) => process.stderr.write(`switchyard run: cannot start node with tsx's loader: ${err.message}\n`))
    }
    whenWrapperGone(() => process.exit(1))
    const job = await loadJob(flags.file)
    const options: ContextOptions = {}
    const workers = int(flags, 'workers')
    if (workers !== undefined) options.workers = workers
    const mem = int(flags, 'memory-per-worker-mb')
    if (mem !== undefined) options.memoryPerWorkerMb = mem
    const parts = int(flags, 'partitions')
    if (parts !== undefined) options.defaultPartitions = parts
    const split = int(flags, 'split-mb')
    if (split !== undefined) options.splitBytes = split * 2 ** 20
    const taskTimeout = int(flags, 'task-timeout-ms')
    if (taskTimeout !== undefined) options.taskTimeoutMs = taskTimeout
    const maxResult = int(flags, 'max-result-mb')
    if (maxResult !== undefined) options.maxResultMb = maxResult
    const fused = fusedFromEnv(process.env['SWITCHYARD_FUSED'])
    if (fused !== undefined) options.fused = fused
    const scratch = flags.values.get('scratch-dir')
    if (scratch !== undefined) options.scratchDir = scratch
    options.progress = flags.bools.has('no-progress') ? false : flags.bools.has('progress') || process.stderr.isTTY === true
    const master = flags.values.get('master')
    if (master !== undefined) options.executor = await clusterExecutor(master, flags.values.get('secret-file'))
    const sc = new Context(options)
    let failed = false
    // The event loop emptying while the job's promise is pending means it can never settle (no
    // job runs, no timer or socket is left): fail instead of letting the process exit 0.
    let onEmpty = (): void => {}
    const unsettled = new Promise<never>((_resolve, reject) => {
      onEmpty = () => reject(new JobError(JobErrorCodes.UNSETTLED, `The default export of ${flags.file} returned a promise that never settled (nothing was left to run); await every job and return or throw`))
    })
    process.once('beforeExit', onEmpty)
    try {
      const result = await Promise.race([Promise.resolve(job(sc, flags.jobArgs)), unsettled])
      if (result !== undefined) process.stdout.write(`${resultJson(result, flags.file)}\n`)
    } catch (err) {
      failed = true
      // A thrown non-Error (a string, a plain object) has no message or stack: say what it was.
      if (!(err instanceof Error)) throw new JobError(JobErrorCodes.JOB_THREW, `The job in ${flags.file} threw a non-Error value: ${inspect(err, { depth: 4, breakLength: Infinity })}`)
      throw err
    } finally {
      process.removeListener('beforeExit', onEmpty)
      await sc.stop()
      const jobs = sc.jobs()
      if (!flags.bools.has('quiet') && !failed) for (const j of jobs) process.stderr.write(`${formatSummary(j)}\n`)
      const out = flags.values.get('summary-json')
      if (out !== undefined) writeFileSync(out, `${JSON.stringify(jobs, null, 2)}\n`)
    }
    return 0
  },
}
