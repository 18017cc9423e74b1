// `switchyard proxy --workers 2`: a request with a malformed sticky cookie kills no worker, and a
// worker that dies anyway (SIGKILL) is replaced while the other keeps serving.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort } from '../_lib/net.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

/** A cluster worker re-runs the CLI entry; tsx's esbuild service is a child of the primary too. */
function isWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/cli/bin.')
  } catch {
    return false
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0 && isWorker(n))
  } catch {
    return []
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const r = await request(url, { headers, headersTimeout: 3000, bodyTimeout: 3000 })
    await r.body.text()
    return r.statusCode
  } catch {
    return 0
  }
}

test('switchyard proxy --workers 2: a bad cookie kills no worker; a killed worker is replaced', async (t) => {
  const s = createServer((_req, res) => res.end('A'))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    s.close(() => r())
    s.closeAllConnections()
  }))
  const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [${origin}]\n    sticky: {cookie: sy}\n    balance: {policy: consistent-hash, hashOn: {source: cookie, name: session}}\naccessLog: {enabled: false}\n`)
  const child = spawn(process.execPath, [...CLI, 'proxy', '--config', file, '--workers', '2', '--no-watch'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await until(() => (out.match(/listening on/g) ?? []).length >= 2, 90_000, 'two workers listening')
  const before = childPids(child.pid as number)
  assert.equal(before.length, 2, `workers: ${before.join(',')}`)
  for (let i = 0; i < 20; i++) {
    const code = await status(`http://127.0.0.1:${port}/`, { cookie: i % 2 === 0 ? 'sy=%zz' : 'session=%zz' })
    assert.equal(code, 200, `request ${i}`)
  }
  assert.deepEqual(childPids(child.pid as number).sort(), [...before].sort(), 'no worker died')
  assert.doesNotMatch(out, /worker exited/)
  process.kill(before[0] as number, 'SIGKILL')
  await until(() => /proxy worker exited; starting a new one/.test(out), 10_000, 'the primary noticing')
  await until(() => {
    const now = childPids(child.pid as number)
    return now.length === 2 && !now.includes(before[0] as number)
  }, 60_000, 'a replacement worker')
  await until(async () => (out.match(/listening on/g) ?? []).length >= 3, 60_000, 'the replacement listening')
  assert.equal(await status(`http://127.0.0.1:${port}/`), 200)
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  assert.equal(code, 0, out)
})
