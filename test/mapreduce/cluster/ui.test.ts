// The coordinator's job UI in a real headless browser (Debian's chromium through playwright-core):
// the token guards every route, the page lists workers and a job with its stages, DAG and tasks,
// and updates live when a worker dies.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { browserSkip, launchChromium } from '../../_lib/chromium.js'
import { Context } from '../../../src/mapreduce/index.js'
import { ClusterExecutor } from '../../../src/mapreduce/cluster/cluster-executor.js'
import { startClusterUi, startLocalUi } from '../../../src/mapreduce/cluster/ui-server.js'
import { SECRET, startCluster } from './fixtures/cluster.js'


test('job UI: token required, workers, jobs, stages with DAG and tasks render and update live', { skip: browserSkip }, async (t) => {
  const cluster = await startCluster(2)
  t.after(() => cluster.stop())
  const ui = await startClusterUi(cluster.coordinator, { port: 0 })
  t.after(() => ui.close())

  // Every route but /healthz needs the token.
  assert.equal((await fetch(`${ui.url}/api/status`)).status, 401)
  assert.equal((await fetch(`${ui.url}/`)).status, 401)
  assert.equal((await fetch(`${ui.url}/api/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
  const api = (await (await fetch(`${ui.url}/api/status`, { headers: { authorization: `Bearer ${ui.token}` } })).json()) as { workers: unknown[] }
  assert.equal(api.workers.length, 2)

  const executor = new ClusterExecutor({ master: cluster.master, secret: SECRET, minWorkers: 2, app: 'ui-test' })
  const ctx = new Context({ executor })
  t.after(() => ctx.stop())
  executor.attachJobs(() => ctx.jobs())
  const result = await ctx.range(0, 1000, 1, 4).map((x) => [x % 10, x] as const).reduceByKey((a, b) => a + b).collect()
  assert.equal(result.length, 10)

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  const unauth = await page.goto(`${ui.url}/`)
  assert.equal(unauth?.status(), 401)
  await page.goto(`${ui.url}/?token=${ui.token}`)
  await page.waitForSelector('#workers tbody tr[data-worker]')
  assert.equal(await page.locator('#workers tbody tr').count(), 2)
  await page.waitForSelector('.job table.stages tbody tr')
  assert.ok((await page.locator('.job').count()) >= 1)
  assert.equal(await page.locator('.job svg.dag rect').count(), 2, 'map stage and result stage drawn')
  assert.ok((await page.locator('.job table.tasks tbody tr').count()) >= 4 + 2)
  assert.match((await page.locator('.job h3').first().textContent()) ?? '', /succeeded/)
  // The cookie set by ?token= lets the page poll the API.
  // Live update: kill a worker; the page shows it dead without a reload.
  const victim = cluster.coordinator.aliveWorkers()[0]
  assert.ok(victim !== undefined)
  process.kill(victim.pid, 'SIGKILL')
  await page.waitForSelector(`#workers tr[data-worker="${victim.id}"] td.dead`, { timeout: 10_000 })
})

test('local mode serves the same UI on request (startLocalUi)', { skip: browserSkip }, async (t) => {
  const ctx = new Context({ workers: 1 })
  t.after(() => ctx.stop())
  await ctx.range(0, 100, 1, 2).map((x) => [x % 3, x] as const).reduceByKey((a, b) => a + b).collect()
  const ui = await startLocalUi(ctx)
  t.after(() => ui.close())
  assert.equal((await fetch(`${ui.url}/api/status`)).status, 401)
  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${ui.url}/?token=${ui.token}`)
  await page.waitForSelector('.job table.stages tbody tr')
  assert.equal(await page.locator('.job svg.dag rect').count(), 2)
})
