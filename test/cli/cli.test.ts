import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { CLI } from '../_lib/node-args.js'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [...CLI, ...args], { cwd: root })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

test('switchyard --version prints the package version', async () => {
  const r = await cli(['--version'])
  assert.equal(r.code, 0)
  assert.equal(r.stdout.trim(), version)
})

test('switchyard --help lists usage and exits 0; no command prints help and exits 1', async () => {
  const r = await cli(['--help'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /Usage: switchyard <command>/)
  const bare = await cli([])
  assert.equal(bare.code, 1)
  assert.match(bare.stdout, /Usage: switchyard <command>/)
})

test('an unknown command exits 2 with a clear message', async () => {
  const r = await cli(['frobnicate'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /unknown command "frobnicate"/)
})

test('npx switchyard works after npm run build', async () => {
  await run('npm', ['run', '--silent', 'build'], { cwd: root })
  const v = await run('npx', ['--no-install', 'switchyard', '--version'], { cwd: root })
  assert.equal(v.stdout.trim(), version)
  const h = await run('npx', ['--no-install', 'switchyard', '--help'], { cwd: root })
  assert.match(h.stdout, /Usage: switchyard <command>/)
})
