// The demo end to end: `switchyard demo --duration 20s` as a user runs it, with the dashboard open
// in real headless Chromium. Checks come from the demo's own summary.json and from the archive.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withBrowser } from '../../_lib/chromium.js'
import type { DemoSummary } from '../../../src/cli/demo/summary.js'
import { CLI } from '../../_lib/node-args.js'

const root = new URL('../../..', import.meta.url).pathname

test('switchyard demo --duration 20s: traffic, fan-out, archive and MapReduce agree; dashboard updates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-demo-test-'))
  const child = spawn(process.execPath, [...CLI, 'demo', '--duration', '20s', '--job-every', '6s', '--dir', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>

  // The dashboard address is printed at start.
  const deadline = Date.now() + 60_000
  let dashboard: string | undefined
  while (dashboard === undefined && Date.now() < deadline && child.exitCode === null) {
    dashboard = /dashboard\s+(http:\/\/\S+)/.exec(stdout)?.[1]
    if (dashboard === undefined) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(dashboard, `no dashboard URL printed:\n${stdout}\n${stderr}`)

  await withBrowser(t, async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(dashboard)
    await page.waitForFunction('window.__dashboard.snapshots >= 5', undefined, { timeout: 30_000 })
    const first = (await page.evaluate('window.__dashboard.updates')) as number
    await page.waitForFunction(`window.__dashboard.updates > ${first + 3}`, undefined, { timeout: 15_000 })
    // MapReduce results arrive every 6 s.
    await page.waitForFunction("document.getElementById('results')?.textContent?.includes('top paths')", undefined, { timeout: 20_000 })
    assert.ok((await page.locator('canvas').count()) >= 3, 'charts drawn')
    assert.ok((await page.evaluate('window.__dashboard.events')) as number > 0, 'live events arrived over the WebSocket')
    const outDir = join(root, 'test-output')
    mkdirSync(outDir, { recursive: true })
    await page.screenshot({ path: join(outDir, 'demo-dashboard.png'), fullPage: true })
    assert.deepEqual(errors, [])
  })

  const [code] = await exited
  assert.equal(code, 0, `demo exited ${code}\n${stdout}\n${stderr}`)
  assert.match(stdout, /Switchyard demo summary/)
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as DemoSummary

  const servers = Object.entries(s.perServer).filter(([, n]) => n > 0)
  assert.ok(servers.length > 1, `served by more than one server: ${JSON.stringify(s.perServer)}`)
  const regions = Object.entries(s.perRegion).filter(([, n]) => n > 0)
  assert.ok(regions.length > 1, `served from more than one region: ${JSON.stringify(s.perRegion)}`)
  assert.ok(s.limited >= 1, 'at least one 429')
  assert.ok((s.byStatus['429'] ?? 0) >= 1, 'the client saw a 429')
  assert.ok(s.cache.hits > 0, 'cache hits')
  assert.ok(s.proxyServed > 100, `traffic flowed: ${s.proxyServed}`)

  // Nothing lost in the fan-out: count the archive ourselves, don't trust the demo's own count.
  const archive = join(dir, 'archive')
  const lines = readdirSync(archive)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(archive, f), 'utf8').split('\n').filter((l) => l !== ''))
  assert.equal(lines.length, s.proxyServed, 'archive lines = requests the proxy served')
  const ids = new Set(lines.map((l) => (JSON.parse(l) as { request_id: string }).request_id))
  assert.equal(ids.size, lines.length, 'no duplicate events in the archive')
  assert.equal(s.analysis.total, lines.length, 'MapReduce total = archive lines')
  const statusSum = s.analysis.statuses.reduce((n, x) => n + x.count, 0)
  assert.equal(statusSum, lines.length, 'MapReduce status classes add up to the archive')
  const limitedInArchive = lines.filter((l) => (JSON.parse(l) as { status: number }).status === 429).length
  assert.equal(s.analysis.limitedClients.reduce((n, x) => n + x.count, 0), limitedInArchive, 'MapReduce 429 count = archive 429 count')
  // The 5xx alerts went to one member of the queue group each.
  const fiveXx = lines.filter((l) => (JSON.parse(l) as { status: number }).status >= 500).length
  assert.equal(s.alerts, fiveXx, 'each 5xx event raised exactly one alert')
})
