// PageRank over an edge list ("src dst" per line). The link table is hash-partitioned once; each
// iteration's ranks come out of reduceByKey with the same partitioner, so the join with the links
// is co-partitioned and skips a shuffle.
// `switchyard run examples/pagerank.ts -- <edges> <iterations> <output dir>`
import type { Context } from '../src/mapreduce/index.js'

export default async function pagerank(sc: Context, args: string[]): Promise<void> {
  const [input, itArg, output] = args
  if (input === undefined || output === undefined) throw new Error('usage: pagerank <edges> <iterations> <output>')
  const iterations = Number(itArg ?? 10)
  const partitions = sc.defaultPartitions
  const links = sc
    .textFile(input)
    .filter((l) => l.trim().length > 0 && !l.startsWith('#'))
    .map((l) => { const [s, d] = l.trim().split(/\s+/); return [s as string, d as string] as const })
    .distinct()
    .groupByKey({ partitions })
  let ranks = links.mapValues(() => 1.0)
  for (let i = 0; i < iterations; i++) {
    const contribs = links.join(ranks).flatMap(([, [urls, rank]]) => urls.map((u) => [u, rank / urls.length] as const))
    ranks = contribs.reduceByKey((a, b) => a + b, { partitions }).mapValues((r) => 0.15 + 0.85 * r)
  }
  await ranks
    .map(([page, rank]) => [page, Math.round(rank * 1e9) / 1e9] as const)
    .sortBy(([page, rank]) => [-rank, page])
    .map(([page, rank]) => `${page}\t${rank}`)
    .saveAsTextFile(output)
}
