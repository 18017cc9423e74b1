// Fault tolerance: a worker killed with SIGKILL at a random moment of a word count job; the output
// must be byte-identical to the fault-free run (lineage recovery + atomic output commit). Also:
// poison records fail the job cleanly, naming the partition and the error, and leave no output.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../src/mapreduce/index.js'
import { LocalExecutor } from '../../src/mapreduce/local-executor.js'
import { makeCorpus } from './fixtures/corpus.js'
import { failOnPoison } from './fixtures/helpers.js'

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-fault-'))
  makeCorpus(join(dir, 'in'), 6, 6000)
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** sha256 over the part files in name order; null if the output is incomplete. */
function outputHash(out: string): string | null {
  if (!existsSync(join(out, '_SUCCESS'))) return null
  const h = createHash('sha256')
  for (const f of readdirSync(out).filter((n) => n.startsWith('part-')).sort()) h.update(readFileSync(join(out, f)))
  return h.digest('hex')
}

function wordCount(sc: Context, input: string) {
  return sc
    .textFile(input, { minPartitions: 12 })
    .flatMap((line) => line.split(' '))
    .filter((w) => w.length > 0)
    .map((w) => [w, 1] as const)
    .reduceByKey((a, b) => a + b, { partitions: 5 })
    .sortByKey()
}

test('word count with a worker killed at a random moment: 20 runs, output sha256 equals the fault-free run', async (t) => {
  const sc = new Context({ workers: 2, splitBytes: 64 * 1024 })
  t.after(() => sc.stop())
  const input = join(dir, 'in')
  await wordCount(sc, input).saveAsTextFile(join(dir, 'clean'))
  const clean = outputHash(join(dir, 'clean'))
  assert.ok(clean !== null)
  // Negative control: the checker notices a changed byte.
  const tampered = join(dir, 'tampered')
  const t0 = performance.now()
  await wordCount(sc, input).saveAsTextFile(tampered)
  const cleanMs = performance.now() - t0 // warm: workers already up
  assert.equal(outputHash(tampered), clean)
  const part = join(tampered, 'part-00000')
  const bytes = readFileSync(part)
  bytes[0] = (bytes[0] as number) ^ 1
  writeFileSync(part, bytes)
  assert.notEqual(outputHash(tampered), clean)

  const executor = sc.executor as LocalExecutor
  let hits = 0
  for (let run = 0; run < 20; run++) {
    // Wait for a full set of workers so every run starts alike.
    for (let i = 0; i < 100 && executor.workerPids.length < 2; i++) await new Promise((r) => setTimeout(r, 50))
    const out = join(dir, `run-${run}`)
    const before = sc.jobs().length
    const job = wordCount(sc, input).saveAsTextFile(out)
    const delay = Math.random() * cleanMs * 0.9
    const killer = new Promise<void>((resolve) => {
      setTimeout(() => {
        const pids = executor.workerPids
        const victim = pids[Math.floor(Math.random() * pids.length)]
        if (victim === undefined) { resolve(); return }
        process.kill(victim, 'SIGKILL')
        // Resolve once the executor has seen the death, so the next run starts with live workers.
        const poll = setInterval(() => {
          if (!executor.workerPids.includes(victim)) { clearInterval(poll); resolve() }
        }, 20)
      }, delay)
    })
    await job
    await killer
    const lost = sc.jobs().slice(before).reduce((a, j) => a + j.workersLost, 0)
    if (lost > 0) hits++
    assert.equal(outputHash(out), clean, `run ${run}: output differs after a kill at ${delay.toFixed(0)} ms`)
  }
  t.diagnostic(`fault-free run ${cleanMs.toFixed(0)} ms; kills that landed while a job ran: ${hits}/20`)
  assert.ok(hits >= 8, `only ${hits} of 20 kills hit a running job: the test is not testing faults`)
})

test('a poison record fails the job after 4 attempts, naming the partition and error, and leaves no output', async (t) => {
  const sc = new Context({ workers: 2 })
  t.after(() => sc.stop())
  const input = join(dir, 'poison')
  makeCorpus(input, 3, 200, 7)
  writeFileSync(join(input, 'part-1.txt'), 'ok line\nthe POISON pill\nmore\n')
  const out = join(dir, 'poison-out')
  await assert.rejects(
    sc.textFile(input).flatMap(failOnPoison).map((w) => [w, 1] as const).reduceByKey((a, b) => a + b).saveAsTextFile(out),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_JOB_TASK_FAILED')
      assert.match(err.message, /partition \d+ failed 4 times/)
      assert.match(err.message, /poison record: the POISON pill/)
      return true
    },
  )
  assert.equal(existsSync(out), false)
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('poison-out')), [])
  const job = sc.jobs().at(-1)
  assert.equal(job?.status, 'failed')
  assert.equal(job?.stages[0]?.failedAttempts, 4)
})
