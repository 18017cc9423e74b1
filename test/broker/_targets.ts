// Test targets for the conformance suite: our broker in-process, or Debian's nats-server started
// on a free loopback port with a generated config file in a temp dir. Same options for both.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker, type BrokerOptions, type BrokerUser } from '../../src/broker/index.js'
import { freePort, waitForPort } from '../_lib/net.js'
export { freePort }

export interface TargetOptions {
  port?: number
  token?: string
  users?: BrokerUser[]
  maxPayloadBytes?: number
  maxControlLineBytes?: number
  pingIntervalMs?: number
  maxPingsOut?: number
  authTimeoutMs?: number
  maxConnections?: number
  maxSubscriptions?: number
  tls?: { certFile: string; keyFile: string; cert: string; key: string }
  websocket?: boolean
  /** Start the monitoring HTTP server. */
  monitor?: boolean
}

export interface Target {
  name: string
  port: number
  wsPort: number
  monitorUrl: string | undefined
  stop(): Promise<void>
}

export type TargetName = 'switchyard' | 'nats-server'

export function natsServerPath(): string | undefined {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server']) if (existsSync(p)) return p
  try {
    const p = execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim()
    return p === '' ? undefined : p
  } catch {
    return undefined
  }
}

const q = (s: string): string => JSON.stringify(s)
const list = (l: string[] | undefined): string => `[${(l ?? []).map(q).join(', ')}]`

function natsConfig(o: TargetOptions, port: number, wsPort: number, monitorPort: number): string {
  const lines = [`listen: 127.0.0.1:${port}`]
  if (o.monitor === true) lines.push(`http: 127.0.0.1:${monitorPort}`)
  if (o.maxPayloadBytes !== undefined) lines.push(`max_payload: ${o.maxPayloadBytes}`)
  if (o.maxControlLineBytes !== undefined) lines.push(`max_control_line: ${o.maxControlLineBytes}`)
  if (o.pingIntervalMs !== undefined) lines.push(`ping_interval: "${o.pingIntervalMs}ms"`)
  if (o.maxPingsOut !== undefined) lines.push(`ping_max: ${o.maxPingsOut}`)
  if (o.maxConnections !== undefined) lines.push(`max_connections: ${o.maxConnections}`)
  if (o.maxSubscriptions !== undefined) lines.push(`max_subscriptions: ${o.maxSubscriptions}`)
  const authTimeout = o.authTimeoutMs === undefined ? '' : `, timeout: ${o.authTimeoutMs / 1000}`
  if (o.token !== undefined) lines.push(`authorization { token: ${q(o.token)}${authTimeout} }`)
  if (o.users !== undefined) {
    const users = o.users.map((u) => {
      const p = u.permissions
      const perm = (x: { allow?: string[]; deny?: string[] } | undefined): string =>
        x === undefined ? '' : `{ ${[x.allow === undefined ? '' : `allow: ${list(x.allow)}`, x.deny === undefined ? '' : `deny: ${list(x.deny)}`].filter(Boolean).join(', ')} }`
      const perms =
        p === undefined ? '' : `, permissions: { ${[p.publish === undefined ? '' : `publish: ${perm(p.publish)}`, p.subscribe === undefined ? '' : `subscribe: ${perm(p.subscribe)}`].filter(Boolean).join(', ')} }`
      return `    { user: ${q(u.user)}, password: ${q(u.password)}${perms} }`
    })
    lines.push(`authorization {${authTimeout === '' ? '' : ` ${authTimeout.slice(2)}`}\n  users: [\n${users.join('\n')}\n  ]\n}`)
  }
  if (o.tls !== undefined) lines.push(`tls { cert_file: ${q(o.tls.certFile)}, key_file: ${q(o.tls.keyFile)} }`)
  if (o.websocket === true) lines.push(`websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }`)
  return `${lines.join('\n')}\n`
}

export async function startTarget(name: TargetName, o: TargetOptions = {}): Promise<Target> {
  if (name === 'switchyard') {
    const opts: BrokerOptions = {
      host: '127.0.0.1',
      port: o.port ?? 0,
      monitorPort: o.monitor === true ? 0 : false,
    }
    if (o.token !== undefined) opts.token = o.token
    if (o.users !== undefined) opts.users = o.users
    if (o.maxPayloadBytes !== undefined) opts.maxPayloadBytes = o.maxPayloadBytes
    if (o.maxControlLineBytes !== undefined) opts.maxControlLineBytes = o.maxControlLineBytes
    if (o.pingIntervalMs !== undefined) opts.pingIntervalMs = o.pingIntervalMs
    if (o.maxPingsOut !== undefined) opts.maxPingsOut = o.maxPingsOut
    if (o.authTimeoutMs !== undefined) opts.authTimeoutMs = o.authTimeoutMs
    if (o.maxConnections !== undefined) opts.maxConnections = o.maxConnections
    if (o.maxSubscriptions !== undefined) opts.maxSubscriptions = o.maxSubscriptions
    if (o.tls !== undefined) opts.tls = { cert: o.tls.cert, key: o.tls.key }
    if (o.websocket === true) opts.websocket = { host: '127.0.0.1', port: 0 }
    const b = await startBroker(opts)
    return { name, port: b.port, wsPort: b.wsPort, monitorUrl: b.monitor?.url, stop: () => b.close() }
  }
  const bin = natsServerPath()
  if (bin === undefined) throw new Error('nats-server is not installed (apt-get install -y nats-server)')
  const dir = mkdtempSync(join(tmpdir(), 'sy-nats-'))
  const port = o.port ?? (await freePort())
  const wsPort = o.websocket === true ? await freePort() : 0
  const monitorPort = o.monitor === true ? await freePort() : 0
  const conf = join(dir, 'nats.conf')
  writeFileSync(conf, natsConfig(o, port, wsPort, monitorPort))
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  await waitForPort(port, { child, label: 'nats-server', log: () => output })
  return {
    name,
    port,
    wsPort,
    monitorUrl: o.monitor === true ? `http://127.0.0.1:${monitorPort}` : undefined,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGKILL')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Targets to run the suite against: ours always, nats-server when installed. */
export function targets(): TargetName[] {
  return natsServerPath() === undefined ? ['switchyard'] : ['switchyard', 'nats-server']
}
