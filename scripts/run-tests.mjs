#!/usr/bin/env node
// Runs node's test runner over an explicit list of test files. Node 20 has no globs in --test, and a
// bare `node --test` with no files silently runs nothing, so the list is built here and an empty list
// is an error.
//
// The TypeScript is compiled first, with tsx's own transform, into a mirror of the repository
// (scripts/build-tests.mjs, under a second), and the runner runs the JavaScript. Through tsx's
// loader every test file and every process the tests start (~500 per run) paid 0.3-0.8 s of CPU
// for the loader thread and its hooks; compiled, the suite needs about a quarter less CPU.
// SWITCHYARD_TEST_TSX=1 runs the .ts files through tsx instead, as `--coverage` does (coverage is
// reported against the sources).
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const coverage = args.includes('--coverage')
const filters = args.filter((a) => !a.startsWith('--'))
// Reporter flags pass through to node's runner, e.g. `--test-reporter=spec`, or a second reporter
// with its own `--test-reporter-destination=FILE`.
const reporterArgs = args.filter((a) => a.startsWith('--test-reporter'))

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const full = join(dir, name)
    const st = statSync(full)
    if (st.isDirectory()) walk(full, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, full))
  }
  return out
}

let files = []
try {
  files = walk(join(root, 'test'), [])
} catch (err) {
  if (err.code !== 'ENOENT') throw err
}
if (filters.length > 0) files = files.filter((f) => filters.some((flt) => f.includes(flt)))
if (process.env.SWITCHYARD_TEST_SKIP) {
  const skip = process.env.SWITCHYARD_TEST_SKIP.split(',').filter(Boolean)
  files = files.filter((f) => !skip.some((s) => f.includes(s)))
}
if (files.length === 0) {
  console.error(`run-tests: no test files found under test/${filters.length ? ` matching ${filters.join(', ')}` : ''}`)
  process.exit(1)
}

// Longest files first (durations recorded by scripts/test-durations.mjs): with a few files running
// at a time, a two-minute file that starts last would leave the other slots idle at the end.
// Files with no record (new ones) get a middling guess, so they neither lead nor trail.
let recorded = {}
try {
  recorded = JSON.parse(readFileSync(join(root, 'test/durations.json'), 'utf8'))
} catch (err) {
  if (err.code !== 'ENOENT') console.error(`run-tests: test/durations.json ignored (${err.message})`)
}
const guess = (f) => (typeof recorded[f] === 'number' ? recorded[f] : 5)
files.sort((a, b) => guess(b) - guess(a) || (a < b ? -1 : 1))

// Two more files than cores: many test files spend much of their time waiting on timers, child
// processes and sockets. 2 cores, compiled suite: 4.6 min at 3, 4.2 min at 4, 4.2 min at 5
// (through tsx it was 7.1 min at 3 against 8.3 min at 2).
const concurrency = process.env.SWITCHYARD_TEST_CONCURRENCY ?? String(Math.max(4, availableParallelism() + 2))
const timeoutMs = process.env.SWITCHYARD_TEST_TIMEOUT_MS ?? '300000'
const compiled = process.env.SWITCHYARD_TEST_TSX !== '1' && !coverage
let runFiles = files
if (compiled) {
  const { buildTests, BUILD_DIR } = await import('./build-tests.mjs')
  const t0 = Date.now()
  await buildTests()
  console.log(`run-tests: compiled into ${BUILD_DIR}/ in ${Date.now() - t0} ms`)
  runFiles = files.map((f) => join(BUILD_DIR, f.replace(/\.ts$/, '.js')))
}
const nodeArgs = [
  ...(compiled ? ['--enable-source-maps'] : ['--import', 'tsx']),
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${timeoutMs}`,
  ...(coverage ? ['--experimental-test-coverage'] : []),
  ...reporterArgs,
  ...runFiles,
]
console.log(`run-tests: ${files.length} file(s), concurrency ${concurrency}, ${compiled ? 'compiled' : 'through tsx'}`)
const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
