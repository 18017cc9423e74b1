// Every value a record may hold crosses every serialisation path unchanged: shuffle and spill
// frames (msgpack), the cache (memory and disk), broadcast, collect. What no path can carry
// (functions, symbols, class instances, cycles) fails loudly with ERR_JOB_UNSUPPORTED_VALUE,
// naming the type. Property tests with fast-check arbitraries for Map (mixed key types), Set,
// typed arrays, Date, bigint, -0, RegExp, Error, undefined and lone surrogates, nested.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { deserialize, serialize } from 'node:v8'
import fc from 'fast-check'
import { Context, JobErrorCodes } from '../../src/mapreduce/index.js'
import { decodeFrames, encodeFrame } from '../../src/mapreduce/record-frames.js'
import { FIXED, value } from './fixtures/values.js'

test('frames: every generated value round-trips through encodeFrame/decodeFrames unchanged', () => {
  for (const v of FIXED) {
    let out: unknown[] = []
    decodeFrames(encodeFrame([v]), (vs) => { out = vs })
    assert.deepStrictEqual(out, [v])
  }
  fc.assert(
    fc.property(fc.array(value, { maxLength: 6 }), (vs) => {
      let out: unknown[] = []
      decodeFrames(encodeFrame(vs), (decoded) => { out = decoded })
      assert.deepStrictEqual(out, vs)
    }),
    { numRuns: 400 },
  )
})

test('v8 paths (cache on disk, broadcast, results) carry the same generated values unchanged', () => {
  fc.assert(fc.property(value, (v) => { assert.deepStrictEqual(deserialize(serialize(v)), v) }), { numRuns: 300 })
})

let sc: Context
before(() => { sc = new Context({ workers: 2, defaultPartitions: 3 }) })
after(async () => { await sc.stop() })

const byKey = (a: readonly [number, unknown], b: readonly [number, unknown]): number => a[0] - b[0]

test('jobs: generated values cross collect, groupByKey, reduceByKey, partitionBy, cache and broadcast unchanged', async () => {
  const values = [...FIXED, ...fc.sample(value, { numRuns: 150, seed: 24 })]
  const pairs = values.map((v, i) => [i, v] as const)
  const expectedPairs = pairs.map(([i, v]) => [i, v])
  assert.deepStrictEqual(await sc.parallelize(values, 4).collect(), values, 'collect')
  const grouped = await sc.parallelize(pairs, 4).groupByKey({ partitions: 3 }).collect()
  assert.deepStrictEqual([...grouped].sort(byKey), pairs.map(([i, v]) => [i, [v]]), 'groupByKey')
  const reduced = await sc.parallelize(pairs, 4).reduceByKey((a) => a, { partitions: 3 }).collect()
  assert.deepStrictEqual([...reduced].sort(byKey), expectedPairs, 'reduceByKey')
  const repart = await sc.parallelize(pairs, 4).partitionBy(5).collect()
  assert.deepStrictEqual([...repart].sort(byKey), expectedPairs, 'partitionBy')
  for (const level of ['MEMORY', 'DISK', 'MEMORY_AND_DISK'] as const) {
    const cached = sc.parallelize(values, 4).map((v) => v).persist(level)
    await cached.count()
    assert.deepStrictEqual(await cached.collect(), values, `cache ${level}`)
    cached.unpersist()
  }
  const bc = sc.broadcast(values)
  const seen = await sc.range(0, values.length, 1, 3).map((i, env) => env.bc.value[i], { env: { bc } }).collect()
  assert.deepStrictEqual(seen, values, 'broadcast')
})

class Point { constructor(readonly x: number) {} }

test('values no path can carry are refused, naming the type: at parallelize, and from a task (one attempt)', async () => {
  for (const [bad, name] of [[() => 1, /function/], [Symbol('s'), /symbol/], [new Point(1), /class Point/], [new WeakMap(), /class WeakMap/]] as const) {
    assert.throws(() => sc.parallelize([1, { a: [bad] }]), (err: { code?: string; message: string }) => err.code === JobErrorCodes.UNSUPPORTED_VALUE && name.test(err.message) && err.message.includes('[1].a[0]'))
  }
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  assert.throws(() => sc.broadcast(cyclic), { code: JobErrorCodes.UNSUPPORTED_VALUE })
  const custom = Object.assign(new Error('x'), { code: 'E1' })
  assert.throws(() => sc.parallelize([custom]), /own property "code"/)
  // A function made inside a task, through a shuffle, and through collect.
  const viaShuffle = sc.range(0, 4, 1, 2).map((i) => [i, () => i] as const).groupByKey().collect()
  await assert.rejects(viaShuffle, (err: { code?: string; message: string }) => err.code === JobErrorCodes.UNSUPPORTED_VALUE && /failed 1 times/.test(err.message) && /function/.test(err.message))
  const viaCollect = sc.range(0, 4, 1, 2).map(() => new Int16Array(1).buffer).collect()
  await assert.rejects(viaCollect, (err: { message: string }) => /class ArrayBuffer/.test(err.message))
})
