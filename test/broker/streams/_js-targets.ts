// JetStream test targets: our broker with JetStream in-process, or Debian's nats-server with -js,
// each on a free loopback port with a store directory in a temp dir, restartable on the same port
// and directory (to check that state survives).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker, type Broker } from '../../../src/broker/index.js'
import { freePort, natsServerPath } from '../_targets.js'
import { waitForPort } from '../../_lib/net.js'

export type JsTargetName = 'switchyard' | 'nats-server'

export interface JsTarget {
  readonly name: JsTargetName
  readonly port: number
  readonly storeDir: string
  /** Our broker when name is 'switchyard'. */
  readonly broker: Broker | undefined
  /** Graceful stop and start again on the same port and store directory. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export const jsTargets: JsTargetName[] = natsServerPath() === undefined ? ['switchyard'] : ['switchyard', 'nats-server']

export async function startJsTarget(name: JsTargetName, opts: { ephemeralInactiveMs?: number } = {}): Promise<JsTarget> {
  const root = mkdtempSync(join(tmpdir(), `sy-js-${name}-`))
  const storeDir = join(root, 'store')
  const port = await freePort()
  if (name === 'switchyard') {
    const start = (): Promise<Broker> =>
      startBroker({ host: '127.0.0.1', port, monitorPort: false, jetstream: { storeDir, tickMs: 20, ...(opts.ephemeralInactiveMs === undefined ? {} : { ephemeralInactiveMs: opts.ephemeralInactiveMs }) } })
    let broker = await start()
    return {
      name,
      port,
      storeDir,
      get broker() {
        return broker
      },
      async restart() {
        await broker.close()
        broker = await start()
      },
      async stop() {
        await broker.close()
        rmSync(root, { recursive: true, force: true })
      },
    }
  }
  const bin = natsServerPath() as string
  const conf = join(root, 'nats.conf')
  writeFileSync(conf, `listen: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(storeDir)} }\n`)
  let child: ChildProcess
  let log = ''
  const spawnIt = async (): Promise<void> => {
    log = ''
    child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString()
    })
    await waitForPort(port, { child, label: 'nats-server', log: () => log, intervalMs: 30 })
  }
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
  await spawnIt()
  return {
    name,
    port,
    storeDir,
    broker: undefined,
    async restart() {
      await kill()
      await spawnIt()
    },
    async stop() {
      await kill()
      rmSync(root, { recursive: true, force: true })
    },
  }
}
