// `switchyard proxy --config proxy.yaml [--workers N]`: maps flags and the config file to a
// ProxyServer; reloads on SIGHUP and on file changes; with --workers, a node:cluster primary.
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import type { Command } from '../command-table.js'
import { UsageError } from '../../internal/errors.js'
import { createLogger, type Logger } from '../../internal/logger.js'
import { installShutdown } from '../../internal/shutdown.js'
import { ConfigWatcher, loadProxyConfig, ProxyServer, type ProxyConfig } from '../../proxy/index.js'
import { builtinPlugins } from '../../proxy/index.js'
import { RestartBackoff } from '../restart-backoff.js'
import { DEFAULT_SEMI_SPACE_MB, execArgvWithSemiSpace, exitWithWrapper, reexecWithSemiSpace, semiSpaceArg, semiSpaceGiven } from '../semi-space.js'
import { mountDashboard } from '../../internal/dashboard/mount.js'
import { AccessCounters, accessCountersPlugin, proxySnapshot } from '../dashboard-sources.js'

const help = `Usage: switchyard proxy --config proxy.yaml [options]

Runs the reverse proxy described by a YAML config file (see docs/proxy.md).

Options:
  -c, --config FILE     Config file (required)
  -w, --workers N|auto  Worker processes (node:cluster); auto: one per CPU core (availableParallelism);
                        default 1 (no cluster)
      --semi-space-mb N V8 young-generation semi-space size in MiB for the proxy process(es)
                        (0 keeps V8's default). Fewer GC pauses per request. V8 reads it only at
                        start-up: --workers processes get it in execArgv (default ${DEFAULT_SEMI_SPACE_MB});
                        a single process re-runs itself once with it only when this flag is given
                        (or set NODE_OPTIONS=--max-semi-space-size=N); node's own flag wins
      --check           Validate the config and exit (0 valid, 1 invalid)
      --no-watch        Do not reload when the config or certificate files change
      --log-level LVL   trace|debug|info|warn|error|silent (default info)

Reload: SIGHUP or saving the config file. A bad config is refused and the old one keeps serving.
Stop: SIGINT/SIGTERM (in-flight requests finish, up to 10 s).`

interface Flags {
  config: string
  workers: number
  semiSpaceMb: number
  /** `--semi-space-mb` was given: only then does a single process re-run itself to apply it. */
  semiSpaceExplicit: boolean
  check: boolean
  watch: boolean
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
}

function parseFlags(argv: string[]): Flags {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        workers: { type: 'string', short: 'w' },
        'semi-space-mb': { type: 'string' },
        check: { type: 'boolean' },
        'no-watch': { type: 'boolean' },
        'log-level': { type: 'string' },
      },
      strict: true,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.config === undefined) throw new UsageError('Cannot start proxy: --config FILE is required')
  const workers = values.workers === undefined ? 1 : values.workers === 'auto' ? Math.min(256, availableParallelism()) : Number(values.workers)
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError(`Cannot start proxy: --workers must be an integer 1..256 or "auto", got ${JSON.stringify(values.workers)}`)
  const semi = values['semi-space-mb'] === undefined ? DEFAULT_SEMI_SPACE_MB : Number(values['semi-space-mb'])
  if (!Number.isInteger(semi) || semi < 0 || semi > 1024) throw new UsageError(`Cannot start proxy: --semi-space-mb must be an integer 0..1024, got ${JSON.stringify(values['semi-space-mb'])}`)
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const
  const level = values['log-level'] ?? 'info'
  if (!(levels as readonly string[]).includes(level)) throw new UsageError(`Cannot start proxy: --log-level must be one of ${levels.join(', ')}, got ${JSON.stringify(level)}`)
  return { config: values.config, workers, semiSpaceMb: semi, semiSpaceExplicit: values['semi-space-mb'] !== undefined, check: values.check === true, watch: values['no-watch'] !== true, logLevel: level as Flags['logLevel'] }
}

function watchedFiles(file: string, config: ProxyConfig): string[] {
  return [file, ...config.listeners.flatMap((l) => l.tls.certs.flatMap((c) => [c.cert, c.key]))]
}

type WorkerMessage = { type: 'sy-proxy-drain'; pool: string; server: string; drained: boolean } | { type: 'sy-proxy-reload' }

/** One proxy process (the only one, or a cluster worker). */
async function runProxy(flags: Flags, logger: Logger, isWorker: boolean): Promise<number> {
  const config = loadProxyConfig(flags.config)
  // With workers, one worker (chosen by the primary) serves the admin API; see docs/proxy.md.
  const adminOff = isWorker && process.env['SWITCHYARD_PROXY_ADMIN_WORKER'] !== '1'
  const effective = adminOff && config.admin !== undefined ? { ...config, admin: undefined } : config
  const counters = new AccessCounters()
  const proxy = new ProxyServer({
    config: effective as ProxyConfig,
    logger,
    plugins: [...builtinPlugins, accessCountersPlugin(counters)],
    ...(isWorker ? { onServerDrain: (pool: string, server: string, drained: boolean) => process.send?.({ type: 'sy-proxy-drain', pool, server, drained }) } : {}),
  })
  await proxy.start()
  // The live dashboard page on the admin port (/dashboard/); with --workers it shows the admin worker.
  if (proxy.admin !== undefined) {
    mountDashboard(proxy.admin, { root: false, live: false, snapshot: () => ({ time: Date.now(), title: 'Switchyard proxy', proxy: proxySnapshot(proxy, counters) }) })
  }
  const reload = (why: string): void => {
    let next: ProxyConfig
    try {
      next = loadProxyConfig(flags.config)
    } catch (err) {
      logger.error({ code: (err as { code?: string }).code, why }, `reload refused, old config keeps serving: ${(err as Error).message}`)
      return
    }
    const adminless = adminOff && next.admin !== undefined ? ({ ...next, admin: undefined } as ProxyConfig) : next
    proxy.reload(adminless).then(
      () => {
        logger.info({ why }, 'config reloaded')
        if (!isWorker) watcher?.watch(watchedFiles(flags.config, next))
      },
      (err: Error & { code?: string }) => logger.error({ code: err.code, why }, `reload refused, old config keeps serving: ${err.message}`),
    )
  }
  let watcher: ConfigWatcher | undefined
  if (!isWorker) {
    process.on('SIGHUP', () => reload('SIGHUP'))
    if (flags.watch) {
      watcher = new ConfigWatcher(() => reload('file change'))
      watcher.watch(watchedFiles(flags.config, config))
    }
  } else {
    process.on('SIGHUP', () => {}) // the primary decides
    process.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'sy-proxy-reload') reload('primary')
      else if (msg.type === 'sy-proxy-drain') proxy.setDrained(msg.pool, msg.server, msg.drained)
    })
  }
  for (const l of proxy.listeners) logger.info(`listening on ${l.protocol}://${l.address}:${l.port}`)
  if (proxy.admin !== undefined) logger.info(`admin API on ${proxy.admin.url}`)
  const code = await new Promise<number>((resolve) => {
    const shutdown = installShutdown({
      logger,
      onShutdown: async () => {
        watcher?.close()
        await proxy.close()
        // A worker's IPC channel would keep it alive.
        if (isWorker) cluster.worker?.disconnect()
      },
      exit: resolve,
    })
    // Re-run with --max-semi-space-size (semi-space.ts): stop when the wrapper process is gone.
    exitWithWrapper(() => void shutdown.trigger('wrapper exited'))
  })
  exitSoon(code)
  return code
}

/**
 * Shutdown always ends the process: once the shutdown sequence finished (or its deadline
 * passed), whatever handle is still open (a stuck client socket, an h2 session) may delay the
 * exit by one second, not keep the process alive. Unref'd: a clean exit is not slowed down.
 */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 1000).unref()
}

/** The cluster primary: forks workers, restarts crashed ones, relays reloads and drains. */
async function runPrimary(flags: Flags, logger: Logger): Promise<number> {
  loadProxyConfig(flags.config) // fail fast with the file:line:col error
  cluster.setupPrimary({ execArgv: execArgvWithSemiSpace(flags.semiSpaceMb) })
  let stopping = false
  let adminWorker: number | undefined
  const fork = (): void => {
    const admin = adminWorker === undefined
    const w = cluster.fork({ SWITCHYARD_PROXY_ADMIN_WORKER: admin ? '1' : '0' })
    if (admin) adminWorker = w.id
    w.on('message', (msg: WorkerMessage) => {
      if (msg.type !== 'sy-proxy-drain') return
      for (const other of Object.values(cluster.workers ?? {})) if (other !== undefined && other !== w) other.send(msg)
    })
  }
  for (let i = 0; i < flags.workers; i++) fork()
  const backoff = new RestartBackoff()
  const pending = new Set<NodeJS.Timeout>()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    if (adminWorker === worker.id) adminWorker = undefined
    const delayMs = backoff.onDeath(Date.now())
    logger.warn({ worker: worker.id, pid: worker.process.pid, code, signal, delayMs }, 'proxy worker exited; starting a new one')
    if (delayMs === 0) {
      fork()
      return
    }
    const timer = setTimeout(() => {
      pending.delete(timer)
      if (!stopping) fork()
    }, delayMs)
    pending.add(timer)
  })
  const broadcastReload = (why: string): void => {
    try {
      loadProxyConfig(flags.config)
    } catch (err) {
      logger.error({ why }, `reload refused, old config keeps serving: ${(err as Error).message}`)
      return
    }
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'sy-proxy-reload' })
  }
  process.on('SIGHUP', () => broadcastReload('SIGHUP'))
  const watcher = new ConfigWatcher(() => broadcastReload('file change'))
  if (flags.watch) watcher.watch(watchedFiles(flags.config, loadProxyConfig(flags.config)))
  const code = await new Promise<number>((resolve) => {
    installShutdown({
      logger,
      onShutdown: async () => {
        stopping = true
        for (const timer of pending) clearTimeout(timer)
        watcher.close()
        const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined)
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((r) => {
                w.once('exit', () => r())
                w.process.kill('SIGTERM')
              }),
          ),
        )
      },
      exit: resolve,
    })
  })
  // Past the deadline, workers still running are killed rather than orphaned.
  if (code !== 0) for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL')
  exitSoon(code)
  return code
}

export const command: Command = {
  help,
  async run(argv) {
    const flags = parseFlags(argv)
    const logger = createLogger({ name: 'proxy', level: flags.logLevel })
    if (flags.check) {
      loadProxyConfig(flags.config)
      process.stdout.write(`${flags.config}: ok\n`)
      return 0
    }
    if (cluster.isWorker) return runProxy(flags, logger.child({ worker: cluster.worker?.id }), true)
    if (flags.workers > 1) return runPrimary(flags, logger)
    // A single process re-runs itself (a wrapper plus the proxy) only when asked to by the flag;
    // by default it keeps to one process (NODE_OPTIONS=--max-semi-space-size=32 does the same).
    if (flags.semiSpaceExplicit && semiSpaceArg(flags.semiSpaceMb) !== undefined && process.env['SWITCHYARD_REEXEC'] !== '1' && !semiSpaceGiven(process.execArgv, process.env['NODE_OPTIONS'])) {
      return reexecWithSemiSpace(flags.semiSpaceMb, logger)
    }
    return runProxy(flags, logger, false)
  },
}
