// Inverted index over JSON-lines documents {"id": ..., "text": ...}: for each word, the sorted
// ids of the documents containing it.
// `switchyard run examples/inverted-index.ts -- <docs.jsonl> <output dir>`
import type { Context } from '../src/mapreduce/index.js'

interface Doc {
  id: string
  text: string
}

export default async function invertedIndex(sc: Context, args: string[]): Promise<void> {
  const [input, output] = args
  if (input === undefined || output === undefined) throw new Error('usage: inverted-index <docs.jsonl> <output>')
  await sc
    .jsonLines<Doc>(input)
    .flatMap((doc) => [...new Set(doc.text.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0))].map((w) => [w, doc.id] as const))
    .groupByKey()
    .mapValues((ids) => [...ids].sort())
    .sortByKey()
    .saveAsJsonLines(output)
}
