// A man-in-the-middle relay between a real worker process and a real coordinator (and between a
// block fetcher and a block server) flips a bit, injects, replays and reorders frames (fixing the
// CRC as an attacker would): every tampered connection must close with ERR_CLUSTER_FRAME_AUTH in
// the log, and no tampered task may run. The relay passing bytes unchanged lets the job finish.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../../src/internal/logger.js'
import { Context } from '../../../src/mapreduce/index.js'
import { Coordinator } from '../../../src/mapreduce/cluster/coordinator.js'
import { BlockServer } from '../../../src/mapreduce/cluster/block-server.js'
import { BlockFetcher } from '../../../src/mapreduce/cluster/block-fetcher.js'
import { resolveCommon } from '../../../src/mapreduce/cluster/options.js'
import { SECRET, spawnWorker, type WorkerProc } from './fixtures/cluster.js'
import { startRelay, type Direction, type RelayMode } from './fixtures/relay.js'

function logSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''))
      cb()
    },
  })
  return { lines, stream }
}

const count = (text: string, needle: string): number => text.split(needle).length - 1
const AUTH_CODE = '"code":"ERR_CLUSTER_FRAME_AUTH"'

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

test('worker <-> coordinator: flipped, injected, replayed and reordered frames close the connection; no tampered task runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-mitm-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const marker = join(dir, 'tampered-task-ran')
  // The task writes the marker only if the first character of this string is no longer 'N':
  // one flipped bit ('N' 0x4e -> 'O' 0x4f) in the run-task frame makes it do so.
  const needle = `N${marker}`
  const log = logSink()
  const coordinator = await Coordinator.start({ port: 0, secret: SECRET, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 3000, logger: createLogger({ destination: log.stream, pretty: false }) })
  t.after(() => coordinator.close())
  const relay = await startRelay(coordinator.port, { flipNeedle: Buffer.from(needle) })
  t.after(() => relay.close())
  const worker: WorkerProc = spawnWorker(relay.port)
  t.after(() => {
    worker.child.kill('SIGKILL')
    rmSync(worker.cacheDir, { recursive: true, force: true })
  })
  await coordinator.waitForWorkers(1, 60_000)

  const ctx = new Context({ master: coordinator.url, secret: SECRET, defaultPartitions: 2 })
  t.after(() => ctx.stop())
  const job = (): Promise<number[]> =>
    ctx
      .parallelize([1, 2, 3, 4], 2)
      .map(
        (x, env) => {
          const p = (env as { p: string }).p
          if (p[0] !== 'N') (process as unknown as { getBuiltinModule(m: string): typeof import('node:fs') }).getBuiltinModule('node:fs').writeFileSync(p.slice(1), 'tampered')
          return x * 2
        },
        { env: { p: needle } },
      )
      .collect()

  // Negative control: the relay forwards every frame unchanged and the job finishes.
  assert.deepEqual((await job()).sort((a, b) => a - b), [2, 4, 6, 8])
  assert.equal(relay.tampered, 0)
  assert.equal(existsSync(marker), false)

  const isRunTask = (p: Buffer): boolean => p.includes(needle)
  const scenarios: { mode: RelayMode; direction: Direction; match?: (p: Buffer) => boolean; who: () => string }[] = [
    { mode: 'flip', direction: 'down', match: isRunTask, who: () => worker.output.join('') },
    { mode: 'inject', direction: 'down', match: isRunTask, who: () => worker.output.join('') },
    { mode: 'replay', direction: 'down', match: isRunTask, who: () => worker.output.join('') },
    { mode: 'reorder', direction: 'down', who: () => worker.output.join('') },
    // The other direction: the coordinator is the one that notices and logs.
    { mode: 'flip', direction: 'up', who: () => log.lines.join('\n') },
  ]
  for (const s of scenarios) {
    const before = count(s.who(), AUTH_CODE)
    const tamperedBefore = relay.tampered
    const connectionsBefore = relay.connections
    relay.arm(s.mode, s.direction, s.match)
    // A job gives the relay run-task frames to tamper with; heartbeats give it any other frame.
    const running: Promise<unknown>[] = s.match === undefined ? [] : [job().catch((e: unknown) => e)]
    await until(`${s.mode} ${s.direction} to happen`, () => relay.tampered > tamperedBefore)
    await until(`${s.mode} ${s.direction}: the tampered connection closed with the code in the log`, () => count(s.who(), AUTH_CODE) > before)
    // The worker reconnects (a new relayed session) and the job finishes on it.
    await until('the worker to reconnect', () => relay.connections > connectionsBefore && coordinator.aliveWorkers().length === 1)
    const results = await Promise.all(running)
    for (const r of results) assert.deepEqual((r as number[]).sort((a, b) => a - b), [2, 4, 6, 8], `${s.mode}: ${String(r)}`)
    assert.equal(existsSync(marker), false, `${s.mode} ${s.direction}: a tampered task ran`)
  }
})

test('fetcher <-> block server: tampered frames in either direction close the connection with a logged code; a clean relay serves the block', async (t) => {
  const options = resolveCommon({ secret: SECRET })
  const blocks = new Map<string, Buffer[]>([
    ['s/0/0/0/0', [Buffer.from('block zero '.repeat(100))]],
    ['s/0/1/0/0', [Buffer.from('block one '.repeat(100))]],
  ])
  const log = logSink()
  const server = await BlockServer.start(options, (id) => blocks.get(id), { host: '127.0.0.1', port: 0 }, createLogger({ destination: log.stream, pretty: false }))
  t.after(() => server.close())
  const relay = await startRelay(server.port, { flipNeedle: Buffer.from('s/0/0/0/0') })
  t.after(() => relay.close())

  // Negative control.
  const clean = new BlockFetcher(options)
  t.after(() => clean.close())
  assert.deepEqual(await clean.fetchBuffer('127.0.0.1', relay.port, 'w1', 's/0/0/0/0'), Buffer.concat(blocks.get('s/0/0/0/0') as Buffer[]))
  clean.close()

  const scenarios: { mode: RelayMode; direction: Direction }[] = [
    { mode: 'flip', direction: 'up' },
    { mode: 'inject', direction: 'up' },
    { mode: 'replay', direction: 'up' },
    { mode: 'reorder', direction: 'up' },
    { mode: 'flip', direction: 'down' },
  ]
  for (const s of scenarios) {
    const before = count(log.lines.join('\n'), AUTH_CODE)
    const fetcher = new BlockFetcher(options)
    relay.arm(s.mode, s.direction)
    const outcomes = await Promise.allSettled([
      fetcher.fetchBuffer('127.0.0.1', relay.port, 'w1', 's/0/0/0/0'),
      fetcher.fetchBuffer('127.0.0.1', relay.port, 'w1', 's/0/1/0/0'),
    ])
    fetcher.close()
    const failed = outcomes.filter((o) => o.status === 'rejected')
    assert.ok(failed.length > 0, `${s.mode} ${s.direction}: every fetch succeeded through a tampering relay`)
    for (const f of failed) assert.equal((f as PromiseRejectedResult).reason.code, 'ERR_CLUSTER_FETCH_FAILED')
    if (s.direction === 'up') {
      await until(`${s.mode}: the block server logged the code`, () => count(log.lines.join('\n'), AUTH_CODE) > before, 10_000)
    } else {
      const reasons = failed.map((f) => String((f as PromiseRejectedResult).reason.message)).join(' ')
      assert.match(reasons, /ERR_CLUSTER_FRAME_AUTH/)
    }
  }
})
