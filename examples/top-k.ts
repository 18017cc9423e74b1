// Top-k words by count: each partition keeps its own top k, the driver merges them.
// `switchyard run examples/top-k.ts -- <input> [k]` prints [[word, count], ...] as JSON.
import type { Context } from '../src/mapreduce/index.js'

export default async function topK(sc: Context, args: string[]): Promise<[string, number][]> {
  const [input, kArg] = args
  if (input === undefined) throw new Error('usage: top-k <input> [k]')
  const k = Number(kArg ?? 10)
  const byCount = (a: readonly [string, number], b: readonly [string, number]): number => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  const partials = await sc
    .textFile(input)
    .flatMap((line) => line.split(/\s+/))
    .filter((w) => w.length > 0)
    .map((w) => [w, 1] as const)
    .reduceByKey((a, b) => a + b)
    .mapPartitions(
      async function* (records, env) {
        const order = (x: [string, number], y: [string, number]): number => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)
        const top: [string, number][] = []
        for await (const r of records) {
          top.push([r[0], r[1]])
          if (top.length > env.k * 4) { top.sort(order); top.length = env.k }
        }
        top.sort(order)
        yield* top.slice(0, env.k)
      },
      { env: { k } },
    )
    .collect()
  return partials.map((p) => [p[0], p[1]] as [string, number]).sort(byCount).slice(0, k)
}
