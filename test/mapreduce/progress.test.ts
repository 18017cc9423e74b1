import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { createProgress } from '../../src/mapreduce/progress.js'
import { formatSummary, type JobSummary } from '../../src/mapreduce/summary.js'
import { newStageSummary } from '../../src/mapreduce/summary.js'

const job = (): JobSummary => {
  const s = newStageSummary(0, 'reduceByKey (map side)', 'map', 4)
  s.tasksDone = 4
  s.attempts = 5
  s.recordsIn = 100
  s.status = 'done'
  return { jobId: 'j-1', action: 'collect', status: 'succeeded', stages: [s], ms: 1234, workersLost: 1 }
}

test('progress is silent when it is off, and drawn as lines when forced on a stream that is not a terminal', async () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream
  assert.equal(createProgress(false, tty), null)
  const pipe = new PassThrough()
  let text = ''
  pipe.on('data', (c: Buffer) => (text += c.toString()))
  const sink = createProgress(true, pipe as unknown as NodeJS.WriteStream)
  assert.ok(sink !== null, 'forced progress on a pipe gives a sink')
  sink.update(job())
  sink.end(job())
  await new Promise((r) => setImmediate(r))
  assert.match(text, /stage 0 reduceByKey \(map side\)\s+\[[^\]]+\] 4\/4 tasks/)
})

test('the job summary names stages, tasks, attempts and lost workers', () => {
  const text = formatSummary(job())
  assert.match(text, /job j-1 collect: succeeded in 1\.23 s, 1 worker\(s\) lost/)
  assert.match(text, /stage 0 reduceByKey \(map side\): done, 4\/4 tasks \(5 attempts\), 100 records in/)
})
