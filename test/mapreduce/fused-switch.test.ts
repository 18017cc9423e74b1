// The switch that turns the fused stages off (`fused: false`, CLI SWITCHYARD_FUSED=off): the
// classic word count and sort give byte-identical output either way, and with fusion off no task
// reaches a fused stage. What is observed is the task's own report (`TaskMetrics.fused`, counted
// per stage as `fusedTasks`), which the fused entry sets only after a fused stage wrote the output;
// the fused-on runs are the negative control that shows it can be non-zero.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context, JobError } from '../../src/mapreduce/index.js'
import { fusedFromEnv } from '../../src/cli/commands/run.js'
import { UsageError } from '../../src/internal/errors.js'

let dir: string
before(() => { dir = mkdtempSync(join(tmpdir(), 'sy-fused-switch-')) })
after(() => rmSync(dir, { recursive: true, force: true }))

const parts = (out: string): string => readdirSync(out).filter((f) => f.startsWith('part-')).sort().map((f) => readFileSync(join(out, f), 'utf8')).join('')

function corpus(): string {
  const words = ['a', 'bb', 'é', 'ccc', 'dd', 'x'.repeat(20), 'zz', 'q']
  const lines: string[] = []
  for (let i = 0; i < 3000; i++) lines.push(Array.from({ length: 1 + (i % 7) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(i % 5 === 0 ? '  ' : ' '))
  return `${lines.join('\n')}\n`
}

async function run(fused: boolean | undefined, job: 'wc' | 'sort', input: string, tag: string): Promise<{ text: string; fusedTasks: number[] }> {
  const sc = new Context({ workers: 2, splitBytes: 8192, ...(fused === undefined ? {} : { fused }) })
  try {
    const out = join(dir, `${job}-${tag}`)
    const lines = sc.textFile(input)
    if (job === 'wc') await lines.flatMap((l) => l.split(' ')).filter((w) => w !== '').map((w) => [w, 1] as const).reduceByKey((a, b) => a + b).saveAsTextFile(out)
    else await lines.map((line) => [line.slice(0, 4), line.slice(4)] as const).sortByKey(true, { partitions: 3 }).map(([k, v]) => k + v).saveAsTextFile(out)
    const jobs = sc.jobs()
    const last = jobs[jobs.length - 1]
    assert.ok(last !== undefined && last.status === 'succeeded')
    return { text: parts(out), fusedTasks: last.stages.map((s) => s.fusedTasks) }
  } finally {
    await sc.stop()
  }
}

test('fused: false gives the classic word count byte for byte and never reaches a fused stage', async () => {
  const input = join(dir, 'words.txt')
  writeFileSync(input, corpus())
  const on = await run(undefined, 'wc', input, 'on')
  const off = await run(false, 'wc', input, 'off')
  assert.ok(on.text.length > 0)
  assert.equal(off.text, on.text)
  // Negative control: the default runs both sides fused (map and reduce stage).
  assert.ok(on.fusedTasks.length === 2 && on.fusedTasks.every((n) => n > 0), `fused on: ${JSON.stringify(on.fusedTasks)}`)
  assert.deepEqual(off.fusedTasks, [0, 0])
})

test('fused: false gives the classic sort byte for byte and never reaches a fused stage', async () => {
  const input = join(dir, 'records.txt')
  const recs: string[] = []
  for (let i = 0; i < 4000; i++) recs.push(`${String((i * 7919) % 10007).padStart(5, '0')}-${i}`)
  writeFileSync(input, `${recs.join('\n')}\n`)
  const on = await run(true, 'sort', input, 'on')
  const off = await run(false, 'sort', input, 'off')
  assert.ok(on.text.length > 0)
  assert.equal(off.text, on.text)
  // The sort job's last stages are the fused map and reduce sides (sampling stages before them are not).
  assert.ok(on.fusedTasks.some((n) => n > 0), `fused on: ${JSON.stringify(on.fusedTasks)}`)
  assert.ok(off.fusedTasks.every((n) => n === 0), `fused off: ${JSON.stringify(off.fusedTasks)}`)
})

test('the fused option is validated; SWITCHYARD_FUSED takes on or off', () => {
  assert.throws(() => new Context({ fused: 'no' as unknown as boolean }), (e: unknown) => e instanceof JobError && e.code === 'ERR_JOB_INVALID_ARGUMENT')
  assert.equal(fusedFromEnv(undefined), undefined)
  assert.equal(fusedFromEnv(''), undefined)
  assert.equal(fusedFromEnv('off'), false)
  assert.equal(fusedFromEnv('on'), true)
  assert.throws(() => fusedFromEnv('0'), (e: unknown) => e instanceof UsageError)
})
