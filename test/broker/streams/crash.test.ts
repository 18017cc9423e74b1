// Crash tests with a Jepsen-style checker. (1) A real broker process is kill -9ed at random 0.5-3 s
// intervals while 4 publishers with unique ids publish with acks; 50 cycles by default
// (SWITCHYARD_CRASH_CYCLES for more), then a drain must show 0 acked lost, 0 unexpected, duplicates
// only for retried publishes. (2) In-process power loss with the fault-injecting store: with
// sync always the checker passes; with acks before fsync (sync interval) it must fail.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'nats'
import { startBroker } from '../../../src/broker/index.js'
import { FaultStorageIO } from './_fault-io.js'
import { freePort } from '../_targets.js'
import { check, drain, newHistory, publisher } from './_checker.js'
import { rng } from './_rand.js'
import { runTs } from '../../_lib/node-args.js'

const root = new URL('../../..', import.meta.url).pathname
const fixture = join(root, 'test/broker/streams/fixtures/js-broker.ts')
const cycles = Number(process.env.SWITCHYARD_CRASH_CYCLES ?? 50)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * The fixture bundled once with esbuild (which tsx ships) so each of the 50 restarts costs a plain
 * node start-up instead of a TypeScript transform; falls back to tsx when bundling fails. The
 * bundle sits two levels below the repository root so `../../package.json` still resolves.
 */
async function brokerCommand(): Promise<{ args: string[]; cleanup: () => void }> {
  const out = join(root, '.crash-bundle', String(process.pid))
  try {
    const esbuild = (await import('esbuild')) as { build(o: Record<string, unknown>): Promise<unknown> }
    await esbuild.build({ entryPoints: [fixture], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: join(out, 'js-broker.mjs'), logLevel: 'silent' })
    const cleanup = (): void => {
      rmSync(out, { recursive: true, force: true })
      try {
        rmdirSync(join(root, '.crash-bundle'))
      } catch {
        // another test process still uses it
      }
    }
    return { args: [join(out, 'js-broker.mjs')], cleanup }
  } catch {
    return { args: runTs(fixture), cleanup: () => {} }
  }
}

let command: string[] = runTs(fixture)

interface Running {
  child: ChildProcess
  /** Resolves once the broker accepts clients; rejects if it dies first. */
  ready: Promise<void>
  isReady: boolean
  /** Time from the go signal to listening, as the broker measured it. */
  startMs: number
}

/** A broker process that has loaded its modules and waits on stdin to start (see the fixture). */
function spawnStandby(port: number, dir: string): Running {
  const child = spawn(process.execPath, [...command, String(port), dir, 'always', 'standby'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
  const run: Running = { child, ready: Promise.resolve(), isReady: false, startMs: 0 }
  run.ready = new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /READY \d+ (\d+)/.exec(out)
      if (m !== null && !run.isReady) {
        run.isReady = true
        run.startMs = Number(m[1])
        resolve()
      }
    })
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.once('exit', (code, signal) => reject(new Error(`broker exited with ${code ?? signal}: ${err}`)))
  })
  run.ready.catch(() => {})
  return run
}

/** Tells a standby to open the store and listen. */
function activate(run: Running): Running {
  run.child.stdin?.write('go\n')
  return run
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

test(`kill -9 crash test: ${cycles} cycles, 4 publishers, nothing acknowledged is lost`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-crash-'))
  const port = await freePort()
  const cmd = await brokerCommand()
  command = cmd.args
  const store = join(dir, 'store')
  let run = activate(spawnStandby(port, store))
  // Two warm spares: under load, loading modules can take longer than one cycle.
  const spares = [spawnStandby(port, store), spawnStandby(port, store)]
  await run.ready
  t.after(async () => {
    await kill9(run.child)
    for (const s of spares) await kill9(s.child)
    rmSync(dir, { recursive: true, force: true })
    cmd.cleanup()
  })
  {
    const nc = await connect({ port, reconnect: false })
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: 'CRASH', subjects: ['crash.>'] })
    await nc.close()
  }
  const h = newHistory()
  let stop = false
  const pubs = [0, 1, 2, 3].map((i) => publisher(`p${i}`, () => port, h, () => stop))
  const rand = rng(Date.now() & 0xffff)
  // Each broker lives a random 0.5-3 s after it is ready, then gets SIGKILL; a warm standby process
  // (modules loaded, store not opened) takes over, so a restart costs only recovery and listen.
  let kills = 0
  let restartMs = 0
  let startMs = 0
  const t0 = Date.now()
  for (let c = 0; c < cycles; c++) {
    await sleep(500 + rand() * 2500)
    await kill9(run.child)
    kills++
    const r0 = Date.now()
    run = activate(spares.shift() as Running)
    spares.push(spawnStandby(port, store))
    await run.ready
    restartMs += Date.now() - r0
    startMs += run.startMs
  }
  const t1 = Date.now()
  stop = true
  await Promise.all(pubs)
  const t2 = Date.now()
  const drained = await drain(port, 'CRASH')
  t.diagnostic(`cycles ${t1 - t0} ms (restarts ${restartMs} ms in total, ${startMs} ms of it opening stores and listening), publishers stop ${t2 - t1} ms, drain ${Date.now() - t2} ms`)
  const r = check(h, drained)
  t.diagnostic(`kills ${kills}, acked ${r.acked}, drained ${r.drained}, retried ${h.retried.size}, duplicates ${r.duplicates.length}`)
  assert.equal(kills, cycles)
  assert.ok(r.acked > cycles, `too few acknowledged publishes (${r.acked}): the test did not exercise anything`)
  assert.deepEqual(r.lost, [], 'acknowledged messages lost')
  assert.deepEqual(r.unexpected, [], 'messages nobody published')
  assert.deepEqual(r.badDuplicates, [], 'duplicates of publishes that were never retried')
  assert.deepEqual(r.seqMismatch, [], 'acked sequence differs from the stored one')
  assert.ok(r.ok)
})

/** Publish, pull the plug (drop everything not fsynced), restart on the same simulated disk, drain, check. */
async function powerLossRun(sync: 'always' | 'interval'): Promise<ReturnType<typeof check>> {
  const io = new FaultStorageIO()
  const js = { storeDir: '/fault', sync, syncIntervalMs: 3_600_000 } as const
  const b1 = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, jetstream: { ...js, io: io.session() } })
  const nc = await connect({ port: b1.port, reconnect: false })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: 'CRASH', subjects: ['crash.>'] })
  await nc.close()
  const h = newHistory()
  await Promise.all([0, 1, 2, 3].map((i) => publisher(`p${i}`, () => b1.port, h, () => false, 50)))
  io.crash()
  await b1.close()
  const b2 = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, jetstream: { ...js, io: io.session() } })
  try {
    return check(h, await drain(b2.port, 'CRASH'))
  } finally {
    await b2.close()
  }
}

test('power loss with sync always: the checker finds nothing lost', async () => {
  const r = await powerLossRun('always')
  assert.equal(r.acked, 200)
  assert.ok(r.ok, JSON.stringify({ ...r, lost: r.lost.length }))
})

test('negative control: acks before fsync (sync interval) lose acknowledged messages and the checker fails', async () => {
  const r = await powerLossRun('interval')
  assert.equal(r.acked, 200)
  assert.equal(r.ok, false, 'the checker must catch acknowledged-but-lost messages')
  assert.ok(r.lost.length > 0)
})
