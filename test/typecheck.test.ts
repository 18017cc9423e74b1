// The typecheck (`npm run typecheck`: strict tsc over src, test, bench and examples) as one test of
// the suite, so it runs beside the other test files instead of before all of them. A type error
// fails this test with tsc's own report.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'

const root = new URL('..', import.meta.url).pathname

test('tsc --noEmit reports no type errors (src, test, bench, examples)', async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })
  assert.equal(result.code, 0, `tsc found type errors:\n${result.out.slice(0, 20_000)}`)
})
