// collect() and take() keep what they bring to the driver under maxResultMb (Spark's
// spark.driver.maxResultSize): one partition over it fails in its task, before it is sent; many
// partitions over it together fail in the driver as their results arrive. Either way the job fails
// with ERR_JOB_RESULT_TOO_LARGE instead of the driver dying of a V8 heap abort.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'
import { resolveOptions } from '../../src/mapreduce/options.js'

let sc: Context
before(() => { sc = new Context({ workers: 2, maxResultMb: 1 }) })
after(async () => { await sc.stop() })

// 40-character strings: about 56 bytes of heap each, so 40,000 of them are about 2 MiB.

test('one partition over maxResultMb fails in its task with ERR_JOB_RESULT_TOO_LARGE, without retries', async () => {
  const big = sc.range(0, 40_000, 1, 1).map((i) => `${i}`.padStart(40, 'x'))
  await assert.rejects(big.collect(), (err: { code?: string; message: string }) => {
    assert.equal(err.code, JobErrorCodes.RESULT_TOO_LARGE)
    assert.match(err.message, /failed 1 times.*partition 0 alone holds about/)
    return true
  })
})

test('partitions each under the limit but together over it fail in the driver with ERR_JOB_RESULT_TOO_LARGE', async () => {
  const many = sc.range(0, 40_000, 1, 8).map((i) => `${i}`.padStart(40, 'x'))
  await assert.rejects(many.collect(), (err: { code?: string; message: string }) => {
    assert.equal(err.code, JobErrorCodes.RESULT_TOO_LARGE)
    assert.match(err.message, /the results of \d+ partitions hold about/)
    return true
  })
  // take() of the same data under the limit works; count() brings no records.
  assert.equal((await many.take(100)).length, 100)
  assert.equal(await many.count(), 40_000)
})

test('controls: results under the limit are collected; the default is 1024 MiB and the option is validated', async () => {
  const small = await sc.range(0, 5_000, 1, 4).map((i) => `${i}`.padStart(40, 'x')).collect()
  assert.equal(small.length, 5_000)
  assert.equal(resolveOptions({}).maxResultMb, 1024)
  assert.throws(() => resolveOptions({ maxResultMb: 0 }), { code: JobErrorCodes.INVALID_ARGUMENT })
})
