// Smaller findings of issue #24 on the worker side: a block scope escaping the scratch root is
// refused, task processes do not inherit SWITCHYARD_SECRET, and a driver killed with SIGKILL
// leaves no shuffle files behind on the workers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { serialize } from 'node:v8'
import { Context } from '../../../src/mapreduce/index.js'
import { EngineTaskRunner, scopeDir } from '../../../src/mapreduce/cluster/engine-runner.js'
import type { RemoteTaskContext } from '../../../src/mapreduce/cluster/worker.js'
import { SECRET, root, startCluster } from './fixtures/cluster.js'

const BAD = { code: 'ERR_CLUSTER_BAD_SCOPE' }

test('a block scope that is empty, dots, or leaves the scratch root is refused; nothing outside it is touched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-scope-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const scratch = join(dir, 'scratch')
  writeFileSync(join(dir, 'keep.txt'), 'outside the scratch root')
  const runner = new EngineTaskRunner({ cores: 1, scratchRoot: scratch, cluster: { secret: SECRET } })
  for (const scope of ['..', '.', '', '...']) assert.throws(() => scopeDir(scratch, scope), BAD, JSON.stringify(scope))
  assert.equal(scopeDir(scratch, '../x'), join(scratch, '.._x'), 'separators are replaced, so the name stays inside')
  assert.throws(() => runner.endScope('..'), BAD)
  assert.ok(existsSync(join(dir, 'keep.txt')), 'endScope("..") removed the parent of the scratch root')
  assert.throws(() => runner.blockSource('../0/0/0/0'), BAD)
  const wire = serialize({ scope: '..', task: { scratchDir: '/x' }, modules: [] })
  await assert.rejects(runner.run(wire, { key: 'k' } as RemoteTaskContext), BAD)
})

test('task processes do not inherit SWITCHYARD_SECRET; a driver killed with SIGKILL leaves no shuffle files on the workers', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'sy-hygiene-'))
  t.after(() => rmSync(scratch, { recursive: true, force: true }))
  mkdirSync(scratch, { recursive: true })
  // The worker daemon gets the secret through its environment (fixtures/cluster.ts).
  const cluster = await startCluster(1, { workerArgs: ['--scratch-dir', scratch] })
  t.after(() => cluster.stop())
  const ctx = new Context({ master: cluster.master, secret: SECRET })
  try {
    const seen = await ctx.parallelize([1, 2], 2).map(() => String(process.env.SWITCHYARD_SECRET)).collect()
    assert.deepEqual(seen, ['undefined', 'undefined'])
  } finally {
    await ctx.stop()
  }

  const script = `
    import { Context } from './src/mapreduce/index.ts'
    const ctx = new Context({ master: process.env.MASTER, secret: process.env.SWITCHYARD_SECRET })
    const n = await ctx.range(0, 20000, 1, 4).map((x) => [x % 97, x]).reduceByKey((a, b) => a + b, { partitions: 3 }).count()
    console.log(n)
    setInterval(() => {}, 1000)`
  const driver = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, MASTER: cluster.master, SWITCHYARD_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => driver.kill('SIGKILL'))
  const [line] = (await once(createInterface({ input: driver.stdout as NodeJS.ReadableStream }), 'line')) as [string]
  assert.equal(Number(line), 97)
  const left = readdirSync(scratch)
  assert.ok(left.length > 0, 'the shuffle wrote its map outputs under the scratch dir')
  driver.kill('SIGKILL')
  const deadline = Date.now() + 15_000
  while (readdirSync(scratch).some((n) => left.includes(n))) {
    if (Date.now() > deadline) assert.fail(`the killed driver's scratch dirs are still there: ${readdirSync(scratch).join(', ')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
})
