// Workers start without tsx's loader when the engine runs compiled (as installed, and in npm test),
// and register it the first time a job ships a function exported from a TypeScript module
// (closure.ts typeScriptLoader). A job whose mapper is a `shippable` export of a .ts module that
// uses a module-level binding must still run, through `switchyard run` and through a driver that
// runs the compiled engine with no loader of its own.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { CLI, COMPILED } from '../_lib/node-args.js'

const exec = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
let dir: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-tsmod-'))
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  // Type annotations and a module-level constant: only a TypeScript loader can import this, and
  // only shipping by module (not by source text) can carry PREFIX to a worker.
  writeFileSync(
    join(dir, 'lib.ts'),
    `import { shippable } from ${JSON.stringify(join(root, 'src/mapreduce/index.js'))}
const PREFIX: string = '>'
interface Tagged { readonly text: string }
export const tag = shippable(import.meta.url, 'tag', (s: string): Tagged => ({ text: PREFIX + s }))
`,
  )
  writeFileSync(
    join(dir, 'job.ts'),
    `import type { Context } from ${JSON.stringify(join(root, 'src/mapreduce/index.js'))}
import { tag } from './lib.ts'
export default async (sc: Context) => (await sc.parallelize(['a', 'b', 'c'], 3).map(tag).collect()).map((t) => t.text)
`,
  )
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('switchyard run: a mapper exported from a .ts module runs on the workers', async () => {
  const r = await exec(process.execPath, [...CLI, 'run', join(dir, 'job.ts'), '--workers', '1', '--quiet'], { cwd: root, timeout: 60_000 })
  assert.deepEqual(JSON.parse(r.stdout), ['>a', '>b', '>c'])
})

test('a driver on the compiled engine with tsx registered by the driver alone: workers load the .ts module themselves', { skip: COMPILED ? false : 'needs the compiled engine (npm test runs compiled)' }, async () => {
  // The driver registers tsx through its API (not --import), so process.execArgv of the workers it
  // forks carries no loader: they must register one for lib.ts.
  const driver = `
import { register } from 'tsx/esm/api'
register()
const { Context } = await import(${JSON.stringify(join(root, 'src/mapreduce/index.js'))})
const { tag } = await import(${JSON.stringify(join(dir, 'lib.ts'))})
const sc = new Context({ workers: 1 })
const out = await sc.parallelize(['x', 'y'], 2).map(tag).collect()
await sc.stop()
console.log(JSON.stringify(out))
`
  const r = await exec(process.execPath, ['--input-type=module', '-e', driver], { cwd: root, timeout: 60_000 })
  assert.deepEqual(JSON.parse(r.stdout), [{ text: '>x' }, { text: '>y' }])
})
