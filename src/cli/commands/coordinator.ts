// `switchyard coordinator`: maps flags (and SWITCHYARD_SECRET) to Coordinator options, starts it
// with its job UI, and runs until SIGINT/SIGTERM.
import type { Command } from '../command-table.js'
import { intFlag, parseFlags, secretFrom } from '../flags.js'
import { createLogger } from '../../internal/logger.js'
import { installShutdown } from '../../internal/shutdown.js'
import { Coordinator, startClusterUi } from '../../mapreduce/cluster/index.js'

const HELP = `Usage: switchyard coordinator [options]

Runs the MapReduce cluster coordinator: workers register here, drivers
(new Context({ executor: new ClusterExecutor({ master: 'sy://host:7077', secret }) }))
send their tasks through it, and it serves the job UI.

Options:
  --host ADDR            Address to listen on (default 127.0.0.1; 0.0.0.0 for other machines)
  --port N               Cluster port (default 7077; 0 picks a free port)
  --ui-port N            Job UI / JSON API port (default 4040; 0 picks one; -1 disables... use --no-ui)
  --no-ui                Do not serve the job UI
  --secret S             Shared secret (visible in ps; prefer --secret-file or SWITCHYARD_SECRET)
  --secret-file PATH     File holding the shared secret
  --insecure             Allow running without a secret (loopback experiments only)
  --heartbeat-timeout-ms N   Declare a worker dead after this much silence (default 6000)
  --heartbeat-interval-ms N  Heartbeat period announced to workers (default 1000)

Every port requires the secret (at least 16 bytes): workers and drivers prove it
with an HMAC challenge-response, and every frame after that carries a MAC under a
per-connection key. The UI takes a random token drawn at each start (printed below);
SIGHUP replaces it (the old one stops working) and prints the new one.
`

export const command: Command = {
  help: HELP,
  async run(argv) {
    const flags = parseFlags(argv, ['host', 'port', 'ui-port', 'secret', 'secret-file', 'heartbeat-timeout-ms', 'heartbeat-interval-ms'], ['insecure', 'no-ui'])
    const logger = createLogger({ name: 'coordinator' })
    const coordinator = await Coordinator.start({
      host: flags.values.get('host') ?? '127.0.0.1',
      port: intFlag(flags, 'port', 7077),
      secret: secretFrom(flags),
      insecure: flags.bools.has('insecure'),
      heartbeatTimeoutMs: intFlag(flags, 'heartbeat-timeout-ms', 6000),
      heartbeatIntervalMs: intFlag(flags, 'heartbeat-interval-ms', 1000),
      logger,
    })
    const ui = flags.bools.has('no-ui') ? undefined : await startClusterUi(coordinator, { host: flags.values.get('host') ?? '127.0.0.1', port: intFlag(flags, 'ui-port', 4040) })
    process.stdout.write(`coordinator listening on ${coordinator.url}\n`)
    if (ui !== undefined) process.stdout.write(`job UI on ${ui.url}/?token=${ui.token}\n`)
    // SIGHUP revokes a leaked UI token without a restart (which would drop every worker and job).
    const rotate = (): void => {
      if (ui === undefined) return
      ui.rotateToken()
      logger.info('job UI token rotated (SIGHUP): the previous token and its cookies no longer work')
      process.stdout.write(`new job UI token: ${ui.url}/?token=${ui.token}\n`)
    }
    process.on('SIGHUP', rotate)
    await new Promise<void>((resolve) => {
      installShutdown({
        logger,
        onShutdown: async () => {
          await ui?.close()
          await coordinator.close()
        },
        exit: () => resolve(),
      })
    })
    process.removeListener('SIGHUP', rotate)
    return 0
  },
}
