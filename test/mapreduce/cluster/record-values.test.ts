// Cluster mode: the same generated values (Map with mixed keys, Set, typed arrays, RegExp, Error,
// bigint, -0, lone surrogates, nested) cross collect, shuffles fetched between two worker
// processes, the cache and broadcast unchanged; a function fails loudly naming its type. The
// cluster adds its own carriers (task results over the coordinator, remote block fetches).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Context, JobErrorCodes } from '../../../src/mapreduce/index.js'
import { FIXED, value } from '../fixtures/values.js'
import { SECRET, startCluster } from './fixtures/cluster.js'

const byKey = (a: readonly [number, unknown], b: readonly [number, unknown]): number => a[0] - b[0]

test('cluster: generated values cross collect, groupByKey, reduceByKey, partitionBy, cache and broadcast unchanged', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster(2)
  t.after(() => cluster.stop())
  const sc = new Context({ master: cluster.master, secret: SECRET, defaultPartitions: 4 })
  t.after(() => sc.stop())
  const values = [...FIXED, ...fc.sample(value, { numRuns: 120, seed: 2424 })]
  const pairs = values.map((v, i) => [i, v] as const)
  const expectedPairs = pairs.map(([i, v]) => [i, v])
  assert.deepStrictEqual(await sc.parallelize(values, 4).collect(), values, 'collect')
  const grouped = await sc.parallelize(pairs, 4).groupByKey({ partitions: 3 }).collect()
  assert.deepStrictEqual([...grouped].sort(byKey), pairs.map(([i, v]) => [i, [v]]), 'groupByKey')
  const reduced = await sc.parallelize(pairs, 4).reduceByKey((a) => a, { partitions: 3 }).collect()
  assert.deepStrictEqual([...reduced].sort(byKey), expectedPairs, 'reduceByKey')
  const repart = await sc.parallelize(pairs, 4).partitionBy(5).collect()
  assert.deepStrictEqual([...repart].sort(byKey), expectedPairs, 'partitionBy')
  const cached = sc.parallelize(values, 4).map((v) => v).cache()
  await cached.count()
  assert.deepStrictEqual(await cached.collect(), values, 'cache')
  const bc = sc.broadcast(values)
  const seen = await sc.range(0, values.length, 1, 3).map((i, env) => env.bc.value[i], { env: { bc } }).collect()
  assert.deepStrictEqual(seen, values, 'broadcast')
  const viaShuffle = sc.range(0, 4, 1, 2).map((i) => [i, () => i] as const).groupByKey().collect()
  await assert.rejects(viaShuffle, (err: { code?: string; message: string }) => err.code === JobErrorCodes.UNSUPPORTED_VALUE && /function/.test(err.message))
})
