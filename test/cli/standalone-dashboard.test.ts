// The live dashboard page on a standalone broker's monitor port and a standalone proxy's admin
// port: the same page, with the panes that server has.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'nats'
import type { DashboardSnapshot } from '../../src/internal/dashboard/snapshot.js'
import { freePort } from '../_lib/net.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

function cli(t: import('node:test').TestContext, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] })
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return child
}

async function snapshotWhen(url: string, ok: (s: DashboardSnapshot) => boolean): Promise<DashboardSnapshot> {
  const end = Date.now() + 30_000
  let last: unknown
  while (Date.now() < end) {
    try {
      const r = await fetch(url)
      if (r.ok) {
        const s = (await r.json()) as DashboardSnapshot
        if (ok(s)) return s
        last = s
      }
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  assert.fail(`snapshot never satisfied the check: ${JSON.stringify(last)}`)
}

test('switchyard broker serves the dashboard on its monitor port', async (t) => {
  const [port, monitor] = [await freePort(), await freePort()]
  cli(t, ['broker', '--host', '127.0.0.1', '--port', String(port), '--monitor-port', String(monitor), '--monitor-host', '127.0.0.1'])
  const base = `http://127.0.0.1:${monitor}`
  await snapshotWhen(`${base}/dashboard/snapshot.json`, (s) => s.broker !== undefined)
  const nc = await connect({ servers: `127.0.0.1:${port}` })
  t.after(() => nc.close())
  const sub = nc.subscribe('x.>')
  for (let i = 0; i < 5; i++) nc.publish(`x.${i}`, 'hi')
  await nc.flush()
  const s = await snapshotWhen(`${base}/dashboard/snapshot.json`, (v) => (v.broker?.inMsgs ?? 0) >= 5)
  assert.equal(s.proxy, undefined)
  assert.ok((s.broker?.connections ?? 0) >= 1)
  assert.ok((s.broker?.subscriptions ?? 0) >= 1)
  sub.unsubscribe()
  const page = await fetch(`${base}/dashboard/`)
  assert.match(await page.text(), /Switchyard dashboard/)
})

test('switchyard proxy serves the dashboard on its admin port, counting requests', async (t) => {
  const origin = createServer((_req, res) => res.end('hello'))
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => origin.close(() => r())))
  const [port, admin] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'sy-dash-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(
    file,
    `listeners:\n  - { address: 127.0.0.1, port: ${port} }\nadmin: { address: 127.0.0.1, port: ${admin} }\naccessLog: { enabled: false }\npools:\n  app:\n    servers: ["http://127.0.0.1:${(origin.address() as AddressInfo).port}"]\n`,
  )
  cli(t, ['proxy', '--config', file])
  const base = `http://127.0.0.1:${admin}`
  await snapshotWhen(`${base}/dashboard/snapshot.json`, (s) => s.proxy !== undefined)
  for (let i = 0; i < 7; i++) assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'hello')
  const s = await snapshotWhen(`${base}/dashboard/snapshot.json`, (v) => (v.proxy?.requests ?? 0) >= 7)
  assert.equal(s.proxy?.statusClasses['2xx'], 7)
  assert.equal(s.proxy?.servers.length, 1)
  assert.equal(s.proxy?.servers[0]?.requests, 7)
  assert.equal(s.broker, undefined)
})
