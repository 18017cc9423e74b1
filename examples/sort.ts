// Sort of gensort-style 100-byte records (10-byte key, 88-byte payload, CRLF) by key: a range
// partitioner from a sample, then an external merge sort per partition. Output lines end in LF.
// `switchyard run examples/sort.ts -- <input> <output dir> [partitions]`
import type { Context } from '../src/mapreduce/index.js'

export default async function sort(sc: Context, args: string[]): Promise<void> {
  const [input, output, parts] = args
  if (input === undefined || output === undefined) throw new Error('usage: sort <input> <output> [partitions]')
  const records = sc.textFile(input)
  await records
    .map((line) => [line.slice(0, 10), line.slice(10)] as const)
    .sortByKey(true, { partitions: parts === undefined ? records.partitions : Number(parts) })
    .map(([k, v]) => k + v)
    .saveAsTextFile(output)
}
