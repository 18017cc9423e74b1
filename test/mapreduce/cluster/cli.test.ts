// `switchyard coordinator` and `switchyard worker` as processes: start, register, run a job through
// new Context({ master }), serve the UI with its token, stop cleanly on SIGTERM; refuse to start
// without a secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { Context } from '../../../src/mapreduce/index.js'
import { root, SECRET } from './fixtures/cluster.js'
import { CLI } from '../../_lib/node-args.js'

function start(args: string[], env: Record<string, string> = { SWITCHYARD_SECRET: SECRET }): { child: ChildProcess; out: string[] } {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: string[] = []
  child.stdout?.on('data', (d: Buffer) => out.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => out.push(d.toString()))
  return { child, out }
}

async function waitForLine(out: string[], re: RegExp, child: ChildProcess): Promise<RegExpExecArray> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const m = re.exec(out.join(''))
    if (m !== null) return m
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} in: ${out.join('')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const exitOf = (c: ChildProcess): Promise<number | null> => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.on('exit', (code) => r(code))))

test('coordinator and worker commands run a job end to end and stop on SIGTERM', async (t) => {
  const coord = start(['coordinator', '--port', '0', '--ui-port', '0'])
  t.after(() => coord.child.kill('SIGKILL'))
  const [, master] = await waitForLine(coord.out, /coordinator listening on (sy:\/\/\S+)/, coord.child)
  const [, uiUrl, token] = await waitForLine(coord.out, /job UI on (http:\/\/\S+)\/\?token=([0-9a-f]+)/, coord.child)
  const port = (master as string).split(':').pop() as string
  const worker = start(['worker', '--connect', `127.0.0.1:${port}`, '--cores', '2'])
  t.after(() => worker.child.kill('SIGKILL'))
  await waitForLine(worker.out, /worker w\d+ registered/, worker.child)

  const ctx = new Context({ master: master as string, secret: SECRET })
  const sum = await ctx.range(0, 1000, 1, 4).map((x) => x * 2).reduce((a, b) => a + b)
  await ctx.stop()
  assert.equal(sum, 999_000)
  const status = (await (await fetch(`${uiUrl}/api/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { workers: { cores: number; tasksDone: number }[] }
  assert.equal(status.workers[0]?.cores, 2)
  assert.equal(status.workers[0]?.tasksDone, 4)

  worker.child.kill('SIGTERM')
  coord.child.kill('SIGTERM')
  assert.equal(await exitOf(worker.child), 0)
  assert.equal(await exitOf(coord.child), 0)
})

test('the coordinator refuses to start without a secret unless --insecure', async () => {
  const c = start(['coordinator', '--port', '0', '--no-ui'], { SWITCHYARD_SECRET: '' })
  assert.equal(await exitOf(c.child), 1)
  assert.match(c.out.join(''), /ERR_CLUSTER_OPTIONS/)
})

test('SIGHUP gives the coordinator\'s UI a new token and prints it; the old token stops working, the coordinator keeps running', { skip: process.platform === 'win32' ? 'signals' : false }, async (t) => {
  const coord = start(['coordinator', '--port', '0', '--ui-port', '0'])
  t.after(() => coord.child.kill('SIGKILL'))
  const [, uiUrl, old] = await waitForLine(coord.out, /job UI on (http:\/\/\S+)\/\?token=([0-9a-f]+)/, coord.child)
  const status = async (token: string): Promise<number> => (await fetch(`${uiUrl}/api/status`, { headers: { authorization: `Bearer ${token}` } })).status
  assert.equal(await status(old as string), 200)
  coord.child.kill('SIGHUP')
  const [, fresh] = await waitForLine(coord.out, /new job UI token: \S+\/\?token=([0-9a-f]+)/, coord.child)
  assert.notEqual(fresh, old)
  assert.equal(await status(old as string), 401, 'the old token still works')
  assert.equal(await status(fresh as string), 200)
  assert.equal(coord.child.exitCode, null, 'SIGHUP stopped the coordinator')
  coord.child.kill('SIGTERM')
  assert.equal(await exitOf(coord.child), 0)
})
