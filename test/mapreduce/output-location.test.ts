// A save action's output location is checked before any task runs: a parent that is a file or a
// dangling symbolic link, a path under /proc, fail at once with a code; /proc never hangs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname
let sc: Context
let dir: string
before(() => {
  sc = new Context({ workers: 1 })
  dir = mkdtempSync(join(tmpdir(), 'sy-outloc-'))
})
after(async () => {
  await sc.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('a parent that is a file, or a dangling symbolic link, fails with ERR_JOB_OUTPUT_LOCATION before any task runs', async () => {
  writeFileSync(join(dir, 'afile'), 'x')
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'))
  const jobsBefore = sc.jobs().length
  await assert.rejects(sc.range(10).saveAsTextFile(join(dir, 'afile', 'out')), { code: JobErrorCodes.OUTPUT_LOCATION })
  await assert.rejects(sc.range(10).saveAsTextFile(join(dir, 'afile', 'deeper', 'out')), { code: JobErrorCodes.OUTPUT_LOCATION })
  await assert.rejects(sc.range(10).saveAsJsonLines(join(dir, 'dangling', 'out')), { code: JobErrorCodes.OUTPUT_LOCATION })
  await assert.rejects(sc.range(10).saveAsTextFile(join(dir, 'dangling')), { code: JobErrorCodes.OUTPUT_EXISTS })
  assert.equal(sc.jobs().length, jobsBefore, 'no job ran')
  assert.deepEqual(readdirSync(dir).sort(), ['afile', 'dangling'], 'nothing left behind')
  // Control: a fine location still works.
  await sc.range(3).saveAsTextFile(join(dir, 'ok', 'out'))
  const written = readdirSync(join(dir, 'ok', 'out'))
  assert.ok(written.includes('_SUCCESS') && written.includes('part-00000'), written.join(','))
})

test('an output under /proc fails at once with ERR_JOB_OUTPUT_LOCATION (through the CLI; it used to spin at 100% CPU)', { skip: process.platform !== 'linux' ? 'procfs' : false }, async () => {
  const job = join(dir, 'proc-job.mjs')
  writeFileSync(job, `export default async (sc) => { await sc.range(4).saveAsTextFile('/proc/self/sy-out/x') }\n`)
  const started = Date.now()
  const r = await new Promise<{ code: number | null; stderr: string; killed: boolean }>((resolve) => {
    const child = execFile(process.execPath, [...CLI, 'run', job, '--workers', '1', '--quiet'], { cwd: root, timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: child.exitCode, stderr, killed: (err as { killed?: boolean } | null)?.killed === true })
    })
  })
  assert.equal(r.killed, false, `the run hung (${Date.now() - started} ms)`)
  assert.equal(r.code, 1)
  assert.match(r.stderr, /\[ERR_JOB_OUTPUT_LOCATION\]/)
  assert.match(r.stderr, /procfs/)
})
