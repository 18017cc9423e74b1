import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newHistogram, runBench, median, type Contender } from '../../bench/lib/harness.js'
import { cpuSeconds, peakRssBytes } from '../../bench/lib/proc.js'

// A TCP echo server; `delayEvery` makes one contender measurably slower.
function echoServer(busyLoopMs: number): string {
  return `const net = require('node:net');
const s = net.createServer((c) => c.on('data', (d) => { const t = Date.now(); while (Date.now() - t < ${busyLoopMs}); c.write(d) }));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`
}

async function startEcho(busyLoopMs: number): Promise<{ p: ChildProcess; port: number }> {
  const p = spawn(process.execPath, ['-e', echoServer(busyLoopMs)])
  const [data] = (await once(p.stdout!, 'data')) as [Buffer]
  return { p, port: Number(data.toString().trim()) }
}

async function pingPong(port: number, n: number) {
  const sock = connect(port, '127.0.0.1')
  await once(sock, 'connect')
  const hist = newHistogram()
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    sock.write('x')
    await once(sock, 'data')
    hist.recordValue(Number((process.hrtime.bigint() - t0) / 1000n))
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  sock.destroy()
  return { ops: n, seconds, latency: hist }
}

test('median', () => {
  assert.equal(median([3, 1, 2]), 2)
  assert.equal(median([4, 1, 2, 3]), 2.5)
})

test('proc readings are sane for this process', () => {
  assert.ok(cpuSeconds(process.pid) > 0)
  assert.ok(peakRssBytes(process.pid) > 10 * 2 ** 20)
})

test('harness runs contenders alternately and reports ratios, CPU and RSS', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'sy-bench-'))
  const mk = (name: string, busy: number): Contender<{ port: number }> => ({
    name,
    async start() {
      const { p, port } = await startEcho(busy)
      return { pid: p.pid!, ctx: { port }, stop: async () => void p.kill() }
    },
  })
  const order: string[] = []
  const { summary, table } = await runBench({
    name: 'selftest',
    rounds: 2,
    contenders: [mk('fast', 0), mk('slow', 2)],
    workloads: [{ name: 'echo', unit: 'ops/s', run: (ctx, c) => (order.push(c), pingPong(ctx.port, 100)) }],
    outDir,
    log: () => {},
  })
  assert.deepEqual(order, ['fast', 'slow', 'slow', 'fast'])
  const slow = summary.find((s) => s.contender === 'slow')
  assert.ok(slow?.ratio !== null && slow !== undefined && slow.ratio > 1.5, `fast/slow ratio should be well above 1, got ${slow?.ratio}`)
  assert.ok((slow.cpuSecPerMillionOps ?? 0) > 0)
  assert.ok((slow.peakRssMb ?? 0) > 10)
  assert.ok((slow.p99Us ?? 0) >= 2000)
  assert.match(table, /\| echo \| slow \| .* \| \d+\.\d\dx \|/)
  const files = readdirSync(outDir)
  assert.equal(files.length, 1)
  const json = JSON.parse(readFileSync(join(outDir, files[0]!), 'utf8')) as { results: unknown[] }
  assert.equal(json.results.length, 4)
})
