// groupByKey holds each key's group whole in memory: when one group passes the task's memory
// budget, the worker warns once (SWITCHYARD_GROUP_OVER_BUDGET) instead of silently using many
// times the budget. Through the real CLI, whose worker processes share its stderr.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

function run(source: string, dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `job-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(file, source)
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...CLI, 'run', file, '--workers', '1', '--memory-per-worker-mb', '8', '--quiet'], { cwd: root, timeout: 120_000 }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }))
  })
}

test('a group over the task memory budget warns once, naming the key; a small group does not', { timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-grp-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const big = await run("export default async (sc) => (await sc.range(0, 400000, 1, 2).map((i) => ['hot', i]).groupByKey({ partitions: 1 }).collect())[0][1].length\n", dir)
  assert.equal(big.code, 0, big.stderr)
  assert.equal(big.stdout.trim(), '400000')
  assert.match(big.stderr, /SWITCHYARD_GROUP_OVER_BUDGET.*\("hot"\)/)
  assert.equal(big.stderr.match(/SWITCHYARD_GROUP_OVER_BUDGET/g)?.length, 1, 'once per task')
  const small = await run("export default async (sc) => (await sc.range(0, 1000, 1, 2).map((i) => [i % 10, i]).groupByKey({ partitions: 1 }).collect()).length\n", dir)
  assert.equal(small.stdout.trim(), '10')
  assert.doesNotMatch(small.stderr, /SWITCHYARD_GROUP_OVER_BUDGET/)
})
