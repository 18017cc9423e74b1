// The spill acceptance run (10M distinct keys, memoryPerWorkerMb 128, worker peak RSS < 400 MB).
// It takes minutes, so it runs only with SWITCHYARD_HEAVY_TESTS=1; the same check runs as
// `node --import tsx bench/mapreduce/spill-rss.ts`. A scaled-down run (100k keys, 2 MB) always runs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spillRun } from '../../bench/mapreduce/spill-rss.js'

test('reduceByKey over 100k distinct keys under memoryPerWorkerMb 2 spills and is correct', async () => {
  const r = await spillRun(100_000, 2)
  assert.equal(r.distinct, 100_000)
  assert.equal(r.total, 100_000)
  assert.ok(r.spillMb > 0, 'expected spills with a 2 MB budget')
})

test('10M distinct keys with memoryPerWorkerMb 128: correct, each worker peak RSS < 400 MB', { skip: process.env.SWITCHYARD_HEAVY_TESTS !== '1' && 'set SWITCHYARD_HEAVY_TESTS=1 (takes minutes)' }, async (t) => {
  const r = await spillRun(10_000_000, 128)
  t.diagnostic(`${r.seconds.toFixed(1)} s, worker peak RSS ${r.peakRssMb.map((m) => m.toFixed(0)).join(' / ')} MB, spilled ${r.spillMb.toFixed(0)} MB`)
  assert.equal(r.distinct, 10_000_000)
  assert.equal(r.total, 10_000_000)
  for (const m of r.peakRssMb) assert.ok(m < 400, `worker peak RSS ${m.toFixed(0)} MB`)
})
