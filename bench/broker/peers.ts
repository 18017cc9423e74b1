// Starting and stopping the servers that bench/broker compares: ours, nats-server, redis-server
// and Aedes, each in its own process on a free loopback port. Missing Debian peers are installed.
import { spawn, type ChildProcess } from 'node:child_process'
import { ensureInstalled } from '../lib/install.js'
import { serveBrokerArgs } from '../lib/compiled.js'
import { freePort, waitForPort } from '../lib/net.js'
export { freePort }

export interface Peer {
  pid: number
  port: number
  stop(): Promise<void>
}

const root = new URL('../..', import.meta.url).pathname

export function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(t)
  }
}

/** Spawns a process that prints `READY <port>` on stdout. */
async function spawnReady(cmd: string, args: string[]): Promise<Peer> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /READY (\d+)/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code} before READY`)))
  })
  return { pid: child.pid as number, port, stop: stopper(child) }
}

async function spawnOnPort(cmd: string, args: (port: number) => string[]): Promise<Peer> {
  const port = await freePort()
  const child = spawn(cmd, args(port), { stdio: 'ignore' })
  await waitForPort(port)
  return { pid: child.pid as number, port, stop: stopper(child) }
}

const nodeArgs = (): string[] => (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean)
export const startOurs = (): Promise<Peer> => spawnReady(process.execPath, [...nodeArgs(), ...serveBrokerArgs('nats')])
/** Our broker with only its MQTT port measured (`READY` names the MQTT port). */
export const startOursMqtt = (): Promise<Peer> => spawnReady(process.execPath, [...nodeArgs(), ...serveBrokerArgs('mqtt')])
/** Our broker with only its RESP port measured (`READY` names the RESP port). */
export const startOursResp = (): Promise<Peer> => spawnReady(process.execPath, [...nodeArgs(), ...serveBrokerArgs('resp')])
export const startAedes = (): Promise<Peer> => spawnReady(process.execPath, ['bench/broker/aedes-server.mjs'])
export const startRelay = (): Promise<Peer> => spawnReady(process.execPath, ['bench/broker/relay-server.mjs'])
export const startNats = (): Promise<Peer> => spawnOnPort(ensureInstalled('nats-server', 'nats-server'), (p) => ['-a', '127.0.0.1', '-p', String(p)])
export const startRedis = (): Promise<Peer> =>
  spawnOnPort(ensureInstalled('redis-server', 'redis-server'), (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '10000'])

/** One Switchyard node of a bench cluster, routing to `routes`. */
/** `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles each node (NODE_OPTIONS refuses --cpu-prof). */
export const startOursNode = (clusterPort: number, routes: string[]): Promise<Peer> =>
  spawnReady(process.execPath, [...nodeArgs(), ...serveBrokerArgs('cluster-node', String(clusterPort), ...routes)])
/** One nats-server node of a bench cluster, with nats-server's own cluster flags. */
export const startNatsNode = (clusterPort: number, routes: string[]): Promise<Peer> =>
  spawnOnPort(ensureInstalled('nats-server', 'nats-server'), (p) => ['-a', '127.0.0.1', '-p', String(p), '--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'bench', ...(routes.length === 0 ? [] : ['--routes', routes.join(',')])])
