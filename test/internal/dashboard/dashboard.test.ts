import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { startAdminServer } from '../../../src/internal/admin-server.js'
import { mountDashboard } from '../../../src/internal/dashboard/mount.js'
import type { DashboardSnapshot } from '../../../src/internal/dashboard/snapshot.js'
import { browserSkip, launchChromium } from '../../_lib/chromium.js'

const root = new URL('../../..', import.meta.url).pathname

// A source whose counters grow on every call, as a running system's would.
function growingSnapshot(): () => DashboardSnapshot {
  let n = 0
  return () => {
    n++
    return {
      time: Date.now(),
      title: 'Switchyard test',
      proxy: {
        requests: n * 100,
        statusClasses: { '2xx': n * 90, '4xx': n * 8, '5xx': n * 2 },
        servers: [
          { id: 'eu-1', pool: 'eu', region: 'eu', state: 'healthy', requests: n * 60 },
          { id: 'us-1', pool: 'us', region: 'us', state: n % 4 === 0 ? 'ejected' : 'healthy', requests: n * 40 },
        ],
        regions: { eu: n * 60, us: n * 40 },
        cache: { hits: n * 30, misses: n * 70 },
        limited: n * 5,
      },
      broker: { inMsgs: n * 100, outMsgs: n * 300, inBytes: n * 1e4, outBytes: n * 3e4, connections: 4, subscriptions: 9, slowConsumers: 0, streams: [{ name: 'ACCESS', messages: n * 100, bytes: n * 1e4, consumers: [{ name: 'archiver', pending: 3, ackPending: 1 }] }],
        cluster: { name: 'east', nodes: [
          { name: 'node-a', kind: 'self', addr: '10.0.0.1:4222', inMsgs: n * 100, outMsgs: n * 300, subscriptions: 0 },
          { name: 'node-b', kind: 'route', addr: '10.0.0.2:6222', inMsgs: n * 7, outMsgs: n * 9, subscriptions: 12, tls: true },
          { name: 'edge-1', kind: 'leaf', addr: '10.9.0.1:7422', inMsgs: n, outMsgs: n, subscriptions: 3 },
        ] } },
      mapreduce: { jobs: n, lastJob: { id: `job-${n}`, finishedAt: Date.now(), durationMs: 120, stages: [{ id: 0, name: 'map', tasks: 2, durationMs: 80 }], results: { 'top paths': [{ path: '/a', count: n }] } } },
    }
  }
}

test('dashboard routes: page, uPlot assets, snapshot JSON, live WebSocket', async (t) => {
  const admin = await startAdminServer()
  const dash = mountDashboard(admin, { snapshot: growingSnapshot() })
  t.after(async () => {
    dash.close()
    await admin.close()
  })
  const page = await fetch(`${admin.url}/dashboard/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>Switchyard dashboard<\/title>/)
  const js = await fetch(`${admin.url}/dashboard/uplot.js`)
  assert.match(await js.text(), /uPlot/)
  const snap = (await (await fetch(`${admin.url}/dashboard/snapshot.json`)).json()) as DashboardSnapshot
  assert.equal(snap.proxy?.servers.length, 2)

  const ws = new WebSocket(`${admin.url.replace('http', 'ws')}/dashboard/live`)
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const got = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))))
  while (dash.viewers === 0) await new Promise((r) => setTimeout(r, 5))
  dash.broadcast('hello')
  assert.equal(await got, 'hello')
  ws.close()
})

test('dashboard in headless Chromium: charts draw and update; screenshot saved', { skip: browserSkip }, async (t) => {
  const admin = await startAdminServer()
  const dash = mountDashboard(admin, { snapshot: growingSnapshot() })
  const browser = await launchChromium()
  t.after(async () => {
    await browser.close()
    dash.close()
    await admin.close()
  })
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`${admin.url}/dashboard/`)
  await page.waitForFunction('window.__dashboard.snapshots >= 4', undefined, { timeout: 15_000 })
  const canvases = await page.locator('canvas').count()
  assert.ok(canvases >= 3, `expected uPlot canvases, got ${canvases}`)
  const updates = (await page.evaluate('window.__dashboard.updates')) as number
  assert.ok(updates >= 9, `charts updated ${updates} times`)
  assert.match((await page.locator('#servers').textContent()) ?? '', /eu-1/)
  assert.match((await page.locator('#results').textContent()) ?? '', /top paths/)
  const nodes = (await page.locator('#nodes').textContent()) ?? ''
  for (const want of ['node-a', 'self', 'node-b', 'route (tls)', 'edge-1', 'leaf']) assert.ok(nodes.includes(want), `node table lacks ${want}: ${nodes}`)
  assert.match((await page.locator('#broker-sub').textContent()) ?? '', /cluster east, 3 nodes/)
  dash.broadcast('{"path":"/live-event"}')
  await page.waitForFunction("document.getElementById('tail')?.textContent?.includes('/live-event')", undefined, { timeout: 5_000 })
  const outDir = join(root, 'test-output')
  mkdirSync(outDir, { recursive: true })
  await page.screenshot({ path: join(outDir, 'dashboard-unit.png'), fullPage: true })
  assert.deepEqual(errors, [])
})
