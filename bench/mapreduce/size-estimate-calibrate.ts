// Calibrates src/mapreduce/size-estimate.ts: allocates many records of each shape (one fresh
// process per shape, one at a time, so it stays light) and prints the measured cost per record
// next to estimateHeapBytes(). RSS also holds off-heap malloc overhead (BackingStore objects,
// chunk headers) that heap+external does not see; for heap-only shapes it adds heap page slack.
//   node --import tsx bench/mapreduce/size-estimate-calibrate.ts [records]
import { arch, cpus } from 'node:os'
import { measureShape, SHAPES, type ShapeName } from '../../test/mapreduce/fixtures/size-shapes.js'

const n = Number(process.argv[2] ?? 200_000)
const f = (x: number): string => x.toFixed(0)
const ratio = (a: number, b: number): string => (Math.abs(b) < 4 ? '-' : (a / b).toFixed(2))

console.log(`size-estimate calibration: ${n} records per shape, node ${process.version} (v8 ${process.versions.v8}), ${arch()}, ${cpus()[0]?.model ?? '?'}, ${new Date().toISOString().slice(0, 10)}`)
console.log('| shape | heap+external B/rec | rss B/rec | estimate B/rec | est / heap+ext | est / rss |')
console.log('|---|--:|--:|--:|--:|--:|')
for (const shape of Object.keys(SHAPES) as ShapeName[]) {
  const m = measureShape(shape, n)
  console.log(`| ${shape} | ${f(m.heapExternal)} | ${f(m.rss)} | ${f(m.estimate)} | ${ratio(m.estimate, m.heapExternal)} | ${ratio(m.estimate, m.rss)} |`)
}
