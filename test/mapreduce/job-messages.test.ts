// Clear messages instead of silent changes or internal stacks: a job returning a bigint or a
// circular value, a job throwing a non-Error (through the real CLI), and saveAsTextFile of a string
// with a lone surrogate (which UTF-8 cannot hold; saveAsJsonLines escapes it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

function runJob(source: string, t: { after: (fn: () => void) => void }): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-msg-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'job.mjs')
  writeFileSync(file, source)
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...CLI, 'run', file, '--workers', '1', '--quiet'], { cwd: root, timeout: 60_000 }, (_err, _out, stderr) => resolve({ code: child.exitCode, stderr }))
  })
}

test('a bigint or circular return value, and a thrown non-Error, give a coded message, not "unexpected error"', async (t) => {
  const big = await runJob('export default async (sc) => ({ total: BigInt(await sc.range(3).count()) })\n', t)
  assert.equal(big.code, 1)
  assert.match(big.stderr, /cannot be printed as JSON: it holds a bigint.*\[ERR_JOB_RESULT_NOT_JSON\]/)
  assert.doesNotMatch(big.stderr, /unexpected error/)
  const cyc = await runJob('export default async () => { const o = {}; o.o = o; return o }\n', t)
  assert.match(cyc.stderr, /circular reference.*\[ERR_JOB_RESULT_NOT_JSON\]/)
  const thrown = await runJob("export default async () => { throw { reason: 'quota' } }\n", t)
  assert.equal(thrown.code, 1)
  assert.match(thrown.stderr, /threw a non-Error value: \{ reason: 'quota' \} \[ERR_JOB_THREW\]/)
  assert.doesNotMatch(thrown.stderr, /\[object Object\]/)
})

test('saveAsTextFile refuses a lone surrogate (it would become U+FFFD); saveAsJsonLines keeps it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-surr-'))
  const sc = new Context({ workers: 1 })
  t.after(async () => { await sc.stop(); rmSync(dir, { recursive: true, force: true }) })
  const data = ['ok', 'half \uD83D pair', 'fine']
  await assert.rejects(sc.parallelize(data, 1).saveAsTextFile(join(dir, 'text')), (err: { code?: string; message: string }) => {
    assert.equal(err.code, JobErrorCodes.UNSUPPORTED_VALUE)
    assert.match(err.message, /record 1 of partition 0 .*lone UTF-16 surrogate/)
    return true
  })
  await sc.parallelize(data, 1).saveAsJsonLines(join(dir, 'json'))
  const back = readFileSync(join(dir, 'json', 'part-00000'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string)
  assert.deepEqual(back, data)
  // Control: well-formed strings (astral characters included) are written as they are.
  await sc.parallelize(['a', 'b \uD83D\uDE00'], 1).saveAsTextFile(join(dir, 'good'))
  assert.equal(readFileSync(join(dir, 'good', 'part-00000'), 'utf8'), 'a\nb 😀\n')
})

test('a .ts job outside a "type": "module" package that needs ESM says why and what to do; the same file as .mts runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cjs-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // Top-level await: tsx compiles a .ts file as CommonJS unless its package says "type": "module".
  const source = "const n: number = await Promise.resolve(3)\nexport default async (sc: { range(n: number): { count(): Promise<number> } }) => sc.range(n).count()\n"
  const run = (file: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      writeFileSync(file, source)
      const child = execFile(process.execPath, [...CLI, 'run', file, '--workers', '1', '--quiet'], { cwd: root, timeout: 60_000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }))
    })
  const cjs = await run(join(dir, 'job.ts'))
  assert.equal(cjs.code, 1)
  assert.match(cjs.stderr, /\[ERR_JOB_BAD_JOB_FILE\]/)
  assert.match(cjs.stderr, /compiled as CommonJS/)
  assert.match(cjs.stderr, /rename it to job\.mts or add "type": "module"/)
  // Control: the same source as .mts is ESM wherever it is.
  const esm = await run(join(dir, 'job.mts'))
  assert.equal(esm.code, 0, esm.stderr)
  assert.equal(esm.stdout.trim(), '3')
})
