// `switchyard proxy`: config file to a running proxy, reload on SIGHUP (a bad file is refused and
// the old config keeps serving), clean stop on SIGTERM; --workers 2 serves through node:cluster.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort } from '../_lib/net.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

async function origin(t: import('node:test').TestContext, name: string): Promise<string> {
  const s = createServer((_req, res) => res.end(name))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    s.close(() => r())
    s.closeAllConnections()
  }))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

function startCli(t: import('node:test').TestContext, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...CLI, 'proxy', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, output: () => out }
}

async function body(url: string): Promise<string | undefined> {
  try {
    const r = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 })
    return await r.body.text()
  } catch {
    return undefined
  }
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms
  let v = await f()
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100))
    v = await f()
  }
  return v
}

test('switchyard proxy: 5-line config, SIGHUP reload, bad file refused, SIGTERM stops', async (t) => {
  const a = await origin(t, 'A')
  const b = await origin(t, 'B')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [${a}]\n`)
  const { child, output } = startCli(t, ['--config', file, '--no-watch', '--log-level', 'info'])
  assert.equal(await until(() => body(`http://127.0.0.1:${port}/`), (v) => v === 'A', 60_000), 'A', output())
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [${a}]\n    balance: nope\n`)
  child.kill('SIGHUP')
  await until(async () => output(), (o) => o.includes('reload refused'), 30_000)
  assert.match(output(), /proxy\.yaml:6:14 pools\.app\.balance/)
  assert.equal(await body(`http://127.0.0.1:${port}/`), 'A')
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [${b}]\n`)
  child.kill('SIGHUP')
  assert.equal(await until(() => body(`http://127.0.0.1:${port}/`), (v) => v === 'B', 30_000), 'B')
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  assert.equal(code, 0)
})

test('switchyard proxy --workers 2 serves through node:cluster and stops cleanly', async (t) => {
  const a = await origin(t, 'A')
  const port = await freePort()
  const adminPort = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1}\npools:\n  app:\n    servers: [${a}]\naccessLog: {enabled: false}\nadmin: {port: ${adminPort}}\n`)
  const { child, output } = startCli(t, ['--config', file, '--workers', '2'])
  await until(async () => output(), (o) => (o.match(/listening on/g) ?? []).length >= 2, 90_000)
  assert.equal((output().match(/listening on/g) ?? []).length, 2, output())
  // Exactly one worker serves the admin API.
  assert.equal((output().match(/admin API on/g) ?? []).length, 1, output())
  for (let i = 0; i < 10; i++) assert.equal(await body(`http://127.0.0.1:${port}/`), 'A')
  const pools = JSON.parse((await body(`http://127.0.0.1:${adminPort}/proxy/pools`)) ?? '[]') as { name: string }[]
  assert.equal(pools[0]?.name, 'app')
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  assert.equal(code, 0)
})

test('switchyard proxy without --config is a usage error; --check validates a file', async (t) => {
  // In-process: the command module maps flags; no need to pay for a child process here.
  const { command } = await import('../../src/cli/commands/proxy.js')
  await assert.rejects(command.run([]), (e: Error & { code?: string }) => e.code === 'ERR_CLI_USAGE' && /--config FILE is required/.test(e.message))
  await assert.rejects(command.run(['--config', 'x.yaml', '--workers', 'two']), (e: Error & { code?: string }) => e.code === 'ERR_CLI_USAGE')
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'))
  const good = join(dir, 'ok.yaml')
  writeFileSync(good, 'listeners: [{port: 8080}]\npools: {app: {servers: [http://127.0.0.1:3000]}}\n')
  const write = process.stdout.write
  let printed = ''
  process.stdout.write = ((c: string) => {
    printed += c
    return true
  }) as typeof process.stdout.write
  t.after(() => {
    process.stdout.write = write
  })
  assert.equal(await command.run(['--config', good, '--check']), 0)
  process.stdout.write = write
  assert.match(printed, /ok\.yaml: ok/)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'listeners: [{port: 8080}]\npools: {}\nroutes: [{pool: x}]\n')
  await assert.rejects(command.run(['--config', bad, '--check']), (e: Error & { code?: string }) => e.code === 'ERR_CONFIG_INVALID' && /bad\.yaml:3:17 routes\[0\]\.pool/.test(e.message))
})
