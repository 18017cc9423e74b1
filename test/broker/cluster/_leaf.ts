// Leafnode test helpers: Debian's nats-server as a leafnode hub or spoke (restartable on the same
// ports), a probe that waits until messages flow between two clients, and /leafz fetches.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInbox, type NatsConnection } from 'nats'
import { freePort, waitForPort } from '../../_lib/net.js'
import { natsServerPath } from '../_targets.js'

export interface NatsLeafServer {
  port: number
  leafPort: number
  monitorUrl: string
  output(): string
  /** SIGKILL. */
  stop(): Promise<void>
  /** Starts it again on the same ports with the same config. */
  start(): Promise<void>
  /** stop(), then removes its temp dir. */
  dispose(): Promise<void>
}

/**
 * nats-server with a `leafnodes` block: `listen` makes it a hub on its own leaf port (with
 * `auth` when given); `remotes` makes it a spoke of those URLs.
 */
export async function natsLeafServer(opts: { hub?: boolean; auth?: { user: string; password: string }; remotes?: string[] }): Promise<NatsLeafServer> {
  const bin = natsServerPath()
  if (bin === undefined) throw new Error('nats-server is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'sy-nats-leaf-'))
  const [port, leafPort, http] = [await freePort(), opts.hub === true ? await freePort() : 0, await freePort()]
  const leaf: string[] = []
  if (opts.hub === true) leaf.push(`  listen: 127.0.0.1:${leafPort}`)
  if (opts.auth !== undefined) leaf.push(`  authorization { user: ${JSON.stringify(opts.auth.user)}, password: ${JSON.stringify(opts.auth.password)} }`)
  if (opts.remotes !== undefined) leaf.push(`  reconnect: 1`, `  remotes: [${opts.remotes.map((u) => `{ url: ${JSON.stringify(u)} }`).join(', ')}]`)
  const conf = join(dir, 'nats.conf')
  writeFileSync(conf, [`listen: 127.0.0.1:${port}`, `http: 127.0.0.1:${http}`, `server_name: nats-leaf-${port}`, 'leafnodes {', ...leaf, '}', ''].join('\n'))
  let child: ChildProcess | undefined
  let out = ''
  let exited: Promise<void> = Promise.resolve()
  const server: NatsLeafServer = {
    port,
    leafPort,
    monitorUrl: `http://127.0.0.1:${http}`,
    output: () => out,
    async stop() {
      const c = child
      if (c !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      await exited
    },
    async start() {
      const c = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
      child = c
      c.stdout?.on('data', (d: Buffer) => (out += d.toString()))
      c.stderr?.on('data', (d: Buffer) => (out += d.toString()))
      exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
      await waitForPort(port, { child: c, label: 'nats-server', log: () => out })
    },
    async dispose() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await server.start()
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return server
}

/**
 * Waits until a message published on `from` reaches `to` through the leaf link. Interest is sent in
 * order on one link, so once the probe flows every subscription `to` made before it has arrived too.
 */
export async function flowing(from: NatsConnection, to: NatsConnection, ms = 10_000): Promise<void> {
  const subject = createInbox('probe')
  let got = false
  const sub = to.subscribe(subject, { callback: () => (got = true) })
  await to.flush()
  const end = Date.now() + ms
  try {
    while (!got) {
      if (Date.now() > end) throw new Error(`timed out waiting for messages to flow on ${subject}`)
      from.publish(subject)
      await from.flush()
      await new Promise((r) => setTimeout(r, 25))
    }
  } finally {
    sub.unsubscribe()
  }
}

export interface LeafzBody {
  leafnodes: number
  leafs: { name: string; is_spoke?: boolean; account: string; subscriptions: number; subscriptions_list?: string[]; in_msgs: number; out_msgs: number }[]
}

export async function leafz(monitorUrl: string, subs = false): Promise<LeafzBody> {
  const res = await fetch(`${monitorUrl}/leafz${subs ? '?subs=1' : ''}`)
  return (await res.json()) as LeafzBody
}
