// `switchyard broker`: maps flags and an optional YAML config file to BrokerOptions and runs the
// broker until SIGINT/SIGTERM. Flags override the file. Nothing here but mapping.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Command } from '../command-table.js'
import { mountDashboard } from '../../internal/dashboard/mount.js'
import { brokerSnapshot } from '../dashboard-sources.js'
import { UsageError } from '../../internal/errors.js'
import { createLogger, type Logger } from '../../internal/logger.js'
import { installShutdown } from '../../internal/shutdown.js'
import { resolve as resolvePath } from 'node:path'
import { configToOptions, DEFAULTS, loadBrokerConfig, parseDurationMs, parseSize, resolveOptions, startBroker, type BrokerOptions } from '../../broker/index.js'
import type { ClusterOptions, JetStreamOptions, LeafnodeOptions } from '../../broker/index.js'

const help = `Usage: switchyard broker [options]

Runs the fan-out broker: the NATS client protocol on --port (stock NATS clients work unchanged),
monitoring HTTP (/varz /connz /subsz /healthz /metrics) on --monitor-port. See docs/broker.md.

Options:
  -c, --config FILE         YAML config file (flags override it)
  -a, --host HOST           Client listen address (default ${DEFAULTS.host})
  -p, --port PORT           Client port (default ${DEFAULTS.port}; 0 picks a free port)
  -m, --monitor-port PORT   Monitoring HTTP port (default 8222; 0 picks a free port)
      --monitor-host HOST   Monitoring listen address (default 0.0.0.0)
      --no-monitor          Do not start the monitoring HTTP server
      --server-name NAME    Name reported in INFO and /varz
      --max-payload SIZE    Largest message, e.g. 1MiB (default 1 MiB)
      --max-pending SIZE    Outbound bytes queued per client before it is a slow consumer (default 64 MiB)
      --max-connections N   Connection limit (default ${DEFAULTS.maxConnections})
      --ping-interval DUR   Server PING interval, e.g. 2m (default 2m)
      --ping-max N          Unanswered PINGs before 'Stale Connection' (default ${DEFAULTS.maxPingsOut})
      --auth TOKEN          Require this token (CONNECT auth_token)
      --user USER           Require this user ...
      --pass PASS           ... with this password (plain or bcrypt hash)
      --tls-cert FILE       TLS certificate (PEM) for the client port
      --tls-key FILE        TLS private key (PEM)
      --tls-ca FILE         CA bundle for client certificates
      --tls-verify          Require client certificates
      --ws-port PORT        Also accept WebSocket clients (binary frames) on this port
      --ws-host HOST        WebSocket listen address (default: --host)
      --mqtt-port PORT      Also accept MQTT 3.1.1/5.0 clients on this port (docs/broker.md, "MQTT clients")
      --mqtt-ws-port PORT   Also accept MQTT over WebSocket (subprotocol mqtt) on this port
      --resp-port PORT      Also accept Redis (RESP2/RESP3) pub/sub clients on this port (docs/broker.md, "Redis clients")
      --cluster URL         Accept routes from other nodes on nats://HOST:PORT (port 0 picks one)
      --routes URL[,URL]    Dial these routes: nats-route://[user:pass@]HOST:PORT (needs --cluster)
      --cluster-name NAME   Cluster name, the same on every node (required with --cluster)
      --log-level LVL       trace|debug|info|warn|error|silent (default info)
      --jetstream           Enable durable streams (JetStream API, see docs/streams.md)
      --store-dir DIR       Directory for file-backed streams (implies --jetstream)
      --sync POLICY         always (ack after fsync, default) | interval (ack after write)
      --sync-interval DUR   fsync period for --sync interval (default 1s)
      --js-domain NAME      JetStream domain: other cluster nodes reach these streams on $JS.NAME.API
      --check               Validate flags and config, print the resolved options, exit

Stop: SIGINT/SIGTERM (connections are closed, up to 10 s).`

const FLAGS = {
  config: { type: 'string', short: 'c' },
  host: { type: 'string', short: 'a' },
  port: { type: 'string', short: 'p' },
  'monitor-port': { type: 'string', short: 'm' },
  'monitor-host': { type: 'string' },
  'no-monitor': { type: 'boolean' },
  'server-name': { type: 'string' },
  'max-payload': { type: 'string' },
  'max-pending': { type: 'string' },
  'max-connections': { type: 'string' },
  'ping-interval': { type: 'string' },
  'ping-max': { type: 'string' },
  auth: { type: 'string' },
  user: { type: 'string' },
  pass: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-verify': { type: 'boolean' },
  'ws-port': { type: 'string' },
  'ws-host': { type: 'string' },
  'mqtt-port': { type: 'string' },
  'mqtt-ws-port': { type: 'string' },
  'resp-port': { type: 'string' },
  cluster: { type: 'string' },
  routes: { type: 'string' },
  'cluster-name': { type: 'string' },
  'log-level': { type: 'string' },
  jetstream: { type: 'boolean' },
  'store-dir': { type: 'string' },
  sync: { type: 'string' },
  'sync-interval': { type: 'string' },
  'js-domain': { type: 'string' },
  check: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values']

function int(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`Invalid --${flag} ${JSON.stringify(text)}: expected an integer from ${min} to ${max}`)
  return n
}

function sizeFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = parseSize(text)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`Invalid --${flag} ${JSON.stringify(text)}: expected a size such as 1048576, 64MB or 1MiB`)
  return n
}

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new UsageError(`Cannot read --${flag} ${JSON.stringify(path)}: ${(err as Error).message}`)
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const
type Level = (typeof LEVELS)[number]

/** --cluster, --routes and --cluster-name over the config file's `cluster`; route flags without a cluster are refused. */
function clusterFlags(o: BrokerOptions, values: Values): void {
  if (values.cluster === undefined && values.routes === undefined && values['cluster-name'] === undefined) return
  const c: Partial<ClusterOptions> = { ...o.cluster }
  if (values.cluster !== undefined) {
    let u: URL
    try {
      u = new URL(values.cluster)
    } catch {
      throw new UsageError(`Invalid --cluster ${JSON.stringify(values.cluster)}: expected nats://HOST:PORT`)
    }
    const port = Number(u.port === '' ? Number.NaN : u.port)
    if ((u.protocol !== 'nats:' && u.protocol !== 'nats-route:') || u.hostname === '' || !Number.isInteger(port)) throw new UsageError(`Invalid --cluster ${JSON.stringify(values.cluster)}: expected nats://HOST:PORT`)
    c.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
    c.port = port
  }
  if (c.port === undefined) throw new UsageError('Cannot use --routes or --cluster-name without --cluster nats://HOST:PORT (or a cluster block in the config file): they would have no effect')
  if (values.routes !== undefined) c.routes = values.routes.split(',').map((r) => r.trim()).filter((r) => r !== '')
  if (values['cluster-name'] !== undefined) c.name = values['cluster-name']
  if (c.name === undefined) throw new UsageError('Cannot use --cluster without --cluster-name NAME (the same name on every node)')
  o.cluster = c as ClusterOptions
}

/** The cluster option for --check output: no route passwords or tokens. */
export function maskCluster(c: ClusterOptions): Record<string, unknown> {
  return {
    ...c,
    ...(c.routes === undefined ? {} : { routes: c.routes.map((r) => r.replace(/\/\/[^@/]*@/, '//***@')) }),
    ...(c.authorization === undefined ? {} : { authorization: '(set)' }),
    ...(c.tls === undefined ? {} : { tls: '(loaded)' }),
  }
}

/** The leafnodes option for --check output: no passwords in remote URLs, no leaf authorization secrets. */
export function maskLeafnodes(l: LeafnodeOptions): Record<string, unknown> {
  const mask = (u: string): string => u.replace(/\/\/[^@/]*@/, '//***@')
  return {
    ...l,
    ...(l.remotes === undefined ? {} : { remotes: l.remotes.map((r) => ({ ...(r.url === undefined ? {} : { url: mask(r.url) }), ...(r.urls === undefined ? {} : { urls: r.urls.map(mask) }) })) }),
    ...(l.authorization === undefined ? {} : { authorization: '(set)' }),
  }
}

/** Flags and config file to BrokerOptions (exported for tests). */
export function brokerOptionsFromArgs(argv: string[]): { options: BrokerOptions & { jetstream?: JetStreamOptions }; logLevel: Level; check: boolean } {
  let values: Values
  try {
    ;({ values } = parseArgs({ args: argv, options: FLAGS, strict: true }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  let o: BrokerOptions & { jetstream?: JetStreamOptions } = { monitorPort: 8222, monitorHost: '0.0.0.0' }
  let logLevel: Level = 'info'
  let js: JetStreamOptions | undefined
  if (values.config !== undefined) {
    const { config, baseDir } = loadBrokerConfig(values.config)
    o = { ...o, ...configToOptions(config, baseDir, readFileSync) }
    if (config.log_level !== undefined) logLevel = config.log_level
    const j = config.jetstream
    if (j !== undefined && j.enabled !== false) {
      js = {}
      if (j.store_dir !== undefined) js.storeDir = resolvePath(baseDir, j.store_dir)
      if (j.sync !== undefined) js.sync = j.sync
      if (j.sync_interval !== undefined) js.syncIntervalMs = parseDurationMs(j.sync_interval)
      if (j.domain !== undefined) js.domain = j.domain
    }
  }
  if (values.jetstream === true || values['store-dir'] !== undefined || values.sync !== undefined || values['sync-interval'] !== undefined || values['js-domain'] !== undefined) js ??= {}
  if (js !== undefined) {
    if (values['js-domain'] !== undefined) js.domain = values['js-domain']
    if (values['store-dir'] !== undefined) js.storeDir = resolvePath(values['store-dir'])
    if (values.sync !== undefined) {
      if (values.sync !== 'always' && values.sync !== 'interval') throw new UsageError(`Invalid --sync ${JSON.stringify(values.sync)}: expected always or interval`)
      js.sync = values.sync
    }
    if (values['sync-interval'] !== undefined) {
      const ms = parseDurationMs(values['sync-interval'])
      if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`Invalid --sync-interval ${JSON.stringify(values['sync-interval'])}: expected a duration such as 1s or 200ms`)
      js.syncIntervalMs = ms
    }
    o.jetstream = js
  }
  if (values.host !== undefined) o.host = values.host
  const port = int('port', values.port, 0, 65535)
  if (port !== undefined) o.port = port
  const mport = int('monitor-port', values['monitor-port'], 0, 65535)
  if (mport !== undefined) o.monitorPort = mport
  if (values['monitor-host'] !== undefined) o.monitorHost = values['monitor-host']
  if (values['no-monitor'] === true) o.monitorPort = false
  if (values['server-name'] !== undefined) o.serverName = values['server-name']
  const maxPayload = sizeFlag('max-payload', values['max-payload'])
  if (maxPayload !== undefined) o.maxPayloadBytes = maxPayload
  const maxPending = sizeFlag('max-pending', values['max-pending'])
  if (maxPending !== undefined) o.maxPendingBytes = maxPending
  const maxConn = int('max-connections', values['max-connections'], 1, 10_000_000)
  if (maxConn !== undefined) o.maxConnections = maxConn
  if (values['ping-interval'] !== undefined) {
    const ms = parseDurationMs(values['ping-interval'])
    if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`Invalid --ping-interval ${JSON.stringify(values['ping-interval'])}: expected a duration such as 2m, 30s or 500ms`)
    o.pingIntervalMs = ms
  }
  const pingMax = int('ping-max', values['ping-max'], 1, 1000)
  if (pingMax !== undefined) o.maxPingsOut = pingMax
  if (values.auth !== undefined) o.token = values.auth
  if ((values.user === undefined) !== (values.pass === undefined)) throw new UsageError('Cannot use --user without --pass (or --pass without --user)')
  if (values.user !== undefined && values.pass !== undefined) o.users = [{ user: values.user, password: values.pass }]
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('Cannot enable TLS: --tls-cert and --tls-key go together')
  if (values['tls-cert'] !== undefined && values['tls-key'] !== undefined) {
    o.tls = {
      cert: read('tls-cert', values['tls-cert']),
      key: read('tls-key', values['tls-key']),
      ...(values['tls-ca'] === undefined ? {} : { ca: read('tls-ca', values['tls-ca']) }),
      ...(values['tls-verify'] === true ? { verify: true } : {}),
    }
  }
  const wsPort = int('ws-port', values['ws-port'], 0, 65535)
  if (wsPort !== undefined) o.websocket = { port: wsPort, ...(values['ws-host'] === undefined ? {} : { host: values['ws-host'] }) }
  const mqttPort = int('mqtt-port', values['mqtt-port'], 0, 65535)
  const mqttWsPort = int('mqtt-ws-port', values['mqtt-ws-port'], 0, 65535)
  if (mqttWsPort !== undefined && mqttPort === undefined && o.mqtt === undefined) throw new UsageError('Cannot use --mqtt-ws-port without --mqtt-port')
  if (mqttPort !== undefined) o.mqtt = { ...o.mqtt, port: mqttPort }
  if (mqttWsPort !== undefined && o.mqtt !== undefined) o.mqtt = { ...o.mqtt, websocket: { port: mqttWsPort } }
  const respPort = int('resp-port', values['resp-port'], 0, 65535)
  if (respPort !== undefined) o.resp = { ...o.resp, port: respPort }
  clusterFlags(o, values)
  if (values['log-level'] !== undefined) {
    if (!(LEVELS as readonly string[]).includes(values['log-level'])) throw new UsageError(`Invalid --log-level ${JSON.stringify(values['log-level'])}: expected one of ${LEVELS.join(', ')}`)
    logLevel = values['log-level'] as Level
  }
  return { options: o, logLevel, check: values.check === true }
}

export const command: Command = {
  help,
  async run(argv) {
    const { options, logLevel, check } = brokerOptionsFromArgs(argv)
    if (check) {
      resolveOptions(options) // throws ERR_BROKER_OPTIONS on bad combinations, as startBroker would
      const shown = { ...options, ...(options.tls === undefined ? {} : { tls: '(loaded)' }), ...(options.users === undefined ? {} : { users: options.users.map((u) => u.user) }), ...(options.token === undefined ? {} : { token: '(set)' }), ...(options.cluster === undefined ? {} : { cluster: maskCluster(options.cluster) }), ...(options.leafnodes === undefined ? {} : { leafnodes: maskLeafnodes(options.leafnodes) }) }
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`)
      return 0
    }
    const logger: Logger = createLogger({ name: 'broker', level: logLevel })
    const broker = await startBroker({ ...options, logger })
    // The live dashboard page on the monitor port (/dashboard/), showing this broker alone.
    if (broker.monitor !== undefined) {
      mountDashboard(broker.monitor, { root: false, live: false, snapshot: () => ({ time: Date.now(), title: 'Switchyard broker', broker: brokerSnapshot(broker) }) })
    }
    process.stderr.write(`switchyard broker: nats://${options.host ?? DEFAULTS.host}:${broker.port}${broker.monitor === undefined ? '' : ` monitor ${broker.monitor.url}`}${broker.wsPort === 0 ? '' : ` ws://:${broker.wsPort}`}${broker.mqtt === undefined ? '' : ` mqtt://:${broker.mqtt.port}`}${broker.resp === undefined ? '' : ` redis://:${broker.resp.port}`}\n`)
    return new Promise<number>((resolve) => {
      const shutdown = installShutdown({
        logger,
        onShutdown: () => broker.close(),
        exit: (code) => {
          shutdown.dispose()
          resolve(code)
        },
      })
    })
  },
}
