// A node:test reporter that records how long each test file ran (the sum of its top-level tests),
// as JSON, for scripts/run-tests.mjs to start the longest files first. Refresh it with
//   npm test -- --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./scripts/test-durations.mjs --test-reporter-destination=test/durations.json
// A stale or missing file only changes the order the files start in, never which files run.
import { relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname

export default async function* durations(source) {
  const perFile = new Map()
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      // Compiled runs name the mirror's .js (scripts/build-tests.mjs): record the source's name.
      const file = relative(root, event.data.file).replace(/^\.test-build\//, '').replace(/\.js$/, '.ts')
      perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0))
    }
  }
  const sorted = [...perFile].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  yield `${JSON.stringify(Object.fromEntries(sorted.map(([f, ms]) => [f, Math.round(ms / 100) / 10])), null, 1)}\n`
}
