// Cluster test helpers: Switchyard nodes in-process or as child processes (for kill -9), Debian's
// nats-server with a cluster block, a log capture, and polling waits (no sleeps by the clock).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { startBroker, type Broker, type BrokerOptions } from '../../../src/broker/index.js'
import type { ClusterOptions } from '../../../src/broker/cluster/options.js'
import { freePort, waitForPort } from '../../_lib/net.js'
import { natsServerPath } from '../_targets.js'
import { runTs } from '../../_lib/node-args.js'

export const CLUSTER = 'sy-test'

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface LogCapture {
  readonly lines: Record<string, unknown>[]
  readonly logger: Logger
}

export function captureLogs(): LogCapture {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { lines, logger: pino({ level: 'info' }, stream) as unknown as Logger }
}

export async function startNode(cluster: Partial<ClusterOptions> & { routes?: string[] }, extra: BrokerOptions = {}): Promise<Broker> {
  return startBroker({ host: '127.0.0.1', port: 0, monitorPort: 0, ...extra, cluster: { name: CLUSTER, host: '127.0.0.1', port: 0, retryDelayMs: 50, maxRetryDelayMs: 500, ...cluster } })
}

export function routeUrl(b: Broker): string {
  return `nats-route://127.0.0.1:${b.cluster?.port ?? 0}`
}

export interface ExternalNode {
  port: number
  clusterPort: number
  monitorUrl: string
  child: ChildProcess
  output(): string
  stop(): Promise<void>
}

async function external(cmd: string, args: string[], port: number, cleanup: () => void, label: string): Promise<ExternalNode & { waitOut: Promise<void> }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const node = {
    port,
    clusterPort: 0,
    monitorUrl: '',
    child,
    output: () => out,
    waitOut: waitForPort(port, { child, label, log: () => out }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
      cleanup()
    },
  }
  return node
}

/** Debian's nats-server with a cluster block on loopback ports, routing to `routes`. */
export async function startNatsServer(routes: string[], name = CLUSTER, extraConf = ''): Promise<ExternalNode> {
  const bin = natsServerPath()
  if (bin === undefined) throw new Error('nats-server is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'sy-nats-cluster-'))
  const [port, clusterPort, http] = [await freePort(), await freePort(), await freePort()]
  const conf = join(dir, 'nats.conf')
  writeFileSync(
    conf,
    [`listen: 127.0.0.1:${port}`, `http: 127.0.0.1:${http}`, `server_name: nats-${port}`, `cluster {`, `  name: ${JSON.stringify(name)}`, `  listen: 127.0.0.1:${clusterPort}`, `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`, extraConf, `}`, ''].join('\n'),
  )
  const node = await external(bin, ['-c', conf], port, () => rmSync(dir, { recursive: true, force: true }), 'nats-server')
  await node.waitOut
  node.clusterPort = clusterPort
  node.monitorUrl = `http://127.0.0.1:${http}`
  return node
}

/** A Switchyard node in its own process (so it can be killed with SIGKILL). */
export async function startNodeProcess(routes: string[]): Promise<ExternalNode> {
  const [port, clusterPort] = [await freePort(), await freePort()]
  const opts = { host: '127.0.0.1', port, monitorPort: false, cluster: { name: CLUSTER, host: '127.0.0.1', port: clusterPort, routes, retryDelayMs: 50, maxRetryDelayMs: 500 } }
  const script = new URL('./_node.ts', import.meta.url).pathname
  const node = await external(process.execPath, [...runTs(script), JSON.stringify(opts)], port, () => {}, 'switchyard node')
  await node.waitOut
  node.clusterPort = clusterPort
  return node
}

export async function routez(monitorUrl: string): Promise<{ num_routes: number; routes: { remote_id: string }[] }> {
  const res = await fetch(`${monitorUrl}/routez`)
  return (await res.json()) as { num_routes: number; routes: { remote_id: string }[] }
}
