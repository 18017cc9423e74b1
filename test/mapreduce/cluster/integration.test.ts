import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Context } from '../../../src/mapreduce/index.js'
import { ClusterExecutor } from '../../../src/mapreduce/cluster/cluster-executor.js'
import { SECRET, startCluster } from './fixtures/cluster.js'
import { waitFor } from '../../_lib/wait.js'

function corpus(dir: string): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
  const lines: string[] = []
  let x = 7
  for (let i = 0; i < 4000; i++) {
    const n = 1 + (i % 9)
    const ws: string[] = []
    for (let j = 0; j < n; j++) {
      x = (x * 1103515245 + 12345) % 2147483648
      ws.push(`${words[x % words.length]}${x % 97}`)
    }
    lines.push(ws.join(' '))
  }
  const file = join(dir, 'input.txt')
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

function digestDir(dir: string): string {
  const h = createHash('sha256')
  for (const f of readdirSync(dir).sort()) {
    if (f.startsWith('_') && f !== '_SUCCESS') continue
    h.update(f).update(readFileSync(join(dir, f)))
  }
  return h.digest('hex')
}

async function wordCount(ctx: Context, input: string, out: string): Promise<{ top: unknown; sorted: unknown }> {
  const counts = ctx
    .textFile(input, { minPartitions: 6 })
    .flatMap((line) => line.split(/\s+/))
    .filter((w) => w.length > 0)
    .map((w) => [w, 1] as const)
    .reduceByKey((a, b) => a + b, { partitions: 4 })
  await counts.sortByKey().saveAsTextFile(out)
  const joined = counts.join(counts.mapValues((v) => v * 2)).mapValues(([a, b]) => a + b)
  const sorted = (await joined.collect()).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const top = await counts.map(([w, n]) => [n, w] as const).sortByKey(false).take(5)
  return { top, sorted }
}

test('3 worker processes on loopback give results identical to local mode, blocks cross worker-to-worker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-it-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const input = corpus(dir)

  const local = new Context({ workers: 2 })
  const localRes = await wordCount(local, input, join(dir, 'out-local')).finally(() => local.stop())

  const cluster = await startCluster(3)
  t.after(() => cluster.stop())
  // The public form: new Context({ master: 'sy://host:port', secret }).
  const ctx = new Context({ master: cluster.master, secret: SECRET, defaultPartitions: 6 })
  const executor = ctx.executor as ClusterExecutor
  assert.equal(executor.kind, 'cluster')
  const clusterRes = await wordCount(ctx, input, join(dir, 'out-cluster')).finally(() => ctx.stop())

  assert.deepEqual(clusterRes.sorted, localRes.sorted)
  assert.deepEqual(clusterRes.top, localRes.top)
  assert.equal(digestDir(join(dir, 'out-cluster')), digestDir(join(dir, 'out-local')))
  const ws = cluster.coordinator.workers()
  assert.equal(new Set(ws.filter((w) => w.tasksDone > 0).map((w) => w.pid)).size, 3, 'every worker process ran tasks')
  // Shuffle blocks really travelled between workers over TCP (block-server counts reach the
  // coordinator with the workers' heartbeats, every 250 ms here).
  const blocksServed = (): number => cluster.coordinator.workers().reduce((a, w) => a + (w.stats.blocksServed ?? 0), 0)
  await waitFor('workers to report blocks served over TCP', () => blocksServed() > 0, { timeoutMs: 5000 })
  assert.ok(executor.modulesUploaded === 0, 'inline functions need no module upload')
})
