// Word count: `switchyard run examples/wordcount.ts -- <input files/glob/dir> <output dir>`
import type { Context } from '../src/mapreduce/index.js'

export default async function wordcount(sc: Context, args: string[]): Promise<void> {
  const [input, output] = args
  if (input === undefined || output === undefined) throw new Error('usage: wordcount <input> <output>')
  await sc
    .textFile(input)
    .flatMap((line) => line.split(/\s+/))
    .filter((w) => w.length > 0)
    .map((w) => [w, 1] as const)
    .reduceByKey((a, b) => a + b)
    .map(([w, n]) => `${w}\t${n}`)
    .saveAsTextFile(output)
}
