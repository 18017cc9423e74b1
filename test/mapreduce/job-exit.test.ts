// `switchyard run` reports success only when the job's promise resolved: a record that kills its
// worker process fails the job after the normal attempts, and a default export that never settles
// fails with a code instead of exiting 0 when the event loop empties. Run through the real CLI.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

interface Outcome { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs `switchyard run <job> ...` and resolves with its exit code (never rejects; 120 s cap). */
function runJob(source: string, args: string[], t: { after: (fn: () => void) => void }): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-exit-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'job.mjs')
  writeFileSync(file, source)
  const started = Date.now()
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, 'run', file, '--quiet', ...args], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

test('a record that calls process.exit() fails the job with ERR_JOB_TASK_FAILED and a non-zero exit', async (t) => {
  const r = await runJob(
    `export default async (sc) => sc.parallelize([1, 2, 3, 4], 4).map((x) => { if (x === 3) process.exit(0); return x }).collect()\n`,
    ['--workers', '2'],
    t,
  )
  t.diagnostic(`exit ${r.code} after ${r.ms} ms; stderr: ${r.stderr.trim().slice(0, 300)}`)
  assert.notEqual(r.code, 0, 'the CLI must not exit 0 when a task could never finish')
  assert.notEqual(r.code, null, 'the CLI must exit, not hang')
  assert.equal(r.stdout, '', 'no result printed')
  assert.match(r.stderr, /\[ERR_JOB_TASK_FAILED\]/)
  assert.match(r.stderr, /partition 2/)
})

test('a record that SIGKILLs its worker counts attempts and fails the job (maxTaskAttempts)', async (t) => {
  const r = await runJob(
    `export default async (sc) => sc.parallelize(['a', 'b'], 2).map((x) => { if (x === 'b') process.kill(process.pid, 'SIGKILL'); return x }).count()\n`,
    ['--workers', '1'],
    t,
  )
  t.diagnostic(`exit ${r.code} after ${r.ms} ms`)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_JOB_TASK_FAILED\]/)
  assert.match(r.stderr, /failed 4 times/)
})

test('a default export that never settles exits non-zero with ERR_JOB_UNSETTLED', async (t) => {
  const r = await runJob(`export default () => new Promise(() => {})\n`, ['--workers', '1'], t)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_JOB_UNSETTLED\]/)
})

test('a default export that runs a job, then never settles, also exits non-zero (idle workers do not keep it alive)', async (t) => {
  const r = await runJob(`export default async (sc) => { await sc.range(10).count(); await new Promise(() => {}) }\n`, ['--workers', '1'], t)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_JOB_UNSETTLED\]/)
})

test('control: a job that resolves exits 0 and prints its result', async (t) => {
  const r = await runJob(`export default async (sc) => sc.range(10).count()\n`, ['--workers', '1'], t)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim(), '10')
})
