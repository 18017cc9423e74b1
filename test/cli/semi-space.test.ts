// `switchyard proxy --semi-space-mb` and `--workers auto`: the flag reaches the serving process
// (a single process re-runs itself with it), that process ends when the wrapper is killed, and
// bad values are usage errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort } from '../_lib/net.js'
import { execArgvWithSemiSpace, semiSpaceGiven } from '../../src/cli/semi-space.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d))
    } catch {
      // exited meanwhile
    }
  }
  return out
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until(ok: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await ok()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return ok()
}

test('semiSpaceGiven and execArgvWithSemiSpace leave an explicit node flag alone', () => {
  assert.equal(semiSpaceGiven(['--max-semi-space-size=64'], undefined), true)
  assert.equal(semiSpaceGiven(['--max_semi_space_size', '8'], undefined), true)
  assert.equal(semiSpaceGiven([], '--max-semi-space-size=8 --trace-gc'), true)
  assert.equal(semiSpaceGiven(['--import', 'tsx'], '--trace-gc'), false)
  assert.deepEqual(execArgvWithSemiSpace(32, ['--import', 'tsx']), ['--import', 'tsx', '--max-semi-space-size=32'])
  assert.deepEqual(execArgvWithSemiSpace(32, ['--max-semi-space-size=8']), ['--max-semi-space-size=8'])
  assert.deepEqual(execArgvWithSemiSpace(0, ['--import', 'tsx']), ['--import', 'tsx'])
})

test('switchyard proxy re-runs itself with --max-semi-space-size; the re-run process ends with the wrapper', async (t) => {
  const origin = createServer((_req, res) => res.end('A'))
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    origin.close(() => r())
    origin.closeAllConnections()
  }))
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sy-semi-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `listeners: [{port: ${port}, address: 127.0.0.1}]\npools: {a: {servers: ['http://127.0.0.1:${(origin.address() as AddressInfo).port}']}}\naccessLog: {enabled: false}\n`)
  const wrapper = spawn(process.execPath, [...CLI, 'proxy', '--config', file, '--no-watch', '--log-level', 'warn', '--semi-space-mb', '24'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  let served: number[] = []
  t.after(() => {
    if (wrapper.exitCode === null) wrapper.kill('SIGKILL')
    for (const p of served) if (alive(p)) process.kill(p, 'SIGKILL')
  })
  const up = await until(async () => {
    try {
      const r = await request(`http://127.0.0.1:${port}/`, { headersTimeout: 2000, bodyTimeout: 2000 })
      return (await r.body.text()) === 'A'
    } catch {
      return false
    }
  }, 30_000)
  assert.ok(up, 'the proxy serves')
  served = childrenOf(wrapper.pid as number)
  assert.equal(served.length, 1, 'one re-run process')
  const cmdline = readFileSync(`/proc/${served[0]}/cmdline`, 'utf8').split('\0')
  assert.ok(cmdline.includes('--max-semi-space-size=24'), `flag passed: ${cmdline.join(' ')}`)
  wrapper.kill('SIGKILL')
  assert.ok(await until(() => !alive(served[0] as number), 20_000), 'the re-run process exits once its wrapper is gone')
})

test('--workers and --semi-space-mb refuse bad values; --workers auto is accepted', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [...CLI, 'proxy', '--config', 'nope.yaml', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  const bad = run(['--workers', 'many'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--workers must be an integer 1\.\.256 or "auto"/)
  const semi = run(['--semi-space-mb=-3'])
  assert.equal(semi.status, 2)
  assert.match(semi.stderr, /--semi-space-mb must be an integer/)
  // auto parses; the missing config file is what fails (not a usage error).
  const auto = run(['--workers', 'auto', '--check'])
  assert.notEqual(auto.status, 2)
})
