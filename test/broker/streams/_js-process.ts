// JetStream targets in their own process (our broker through fixtures/js-broker.ts, or nats-server
// -js), for tests where a defect could spin the event loop: an in-process broker would hang the test
// runner, a child process is killed and the test fails with a message instead.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForPort } from '../../_lib/net.js'
import { freePort, natsServerPath } from '../_targets.js'
import type { JsTargetName } from './_js-targets.js'
import { runTs } from '../../_lib/node-args.js'

const root = new URL('../../..', import.meta.url).pathname
const fixture = join(root, 'test/broker/streams/fixtures/js-broker.ts')

export interface JsProcess {
  readonly name: JsTargetName
  readonly port: number
  /** SIGTERM (graceful), then start again on the same port and store. */
  restart(): Promise<void>
  /** SIGKILL and remove the store. */
  stop(): Promise<void>
}

export async function startJsProcess(name: JsTargetName): Promise<JsProcess> {
  const dir = mkdtempSync(join(tmpdir(), `sy-jsp-${name}-`))
  const storeDir = join(dir, 'store')
  const port = await freePort()
  const conf = join(dir, 'nats.conf')
  writeFileSync(conf, `listen: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(storeDir)} }\n`)
  let child: ChildProcess
  let log = ''
  const spawnIt = async (): Promise<void> => {
    log = ''
    child =
      name === 'switchyard'
        ? spawn(process.execPath, [...runTs(fixture), String(port), storeDir, 'always'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(natsServerPath() as string, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
    // Start-up can take seconds on a loaded machine (tsx transforms the broker's modules).
    await waitForPort(port, { child, label: name, log: () => log, intervalMs: 30, timeoutMs: 60_000 })
  }
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill(signal)
    // A spinning process does not handle SIGTERM; do not wait for it forever.
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  await spawnIt()
  return {
    name,
    port,
    async restart() {
      await kill('SIGTERM')
      await spawnIt()
    },
    async stop() {
      await kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
