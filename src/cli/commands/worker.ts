// `switchyard worker`: maps flags (and SWITCHYARD_SECRET) to a cluster Worker running engine tasks
// in one task process per core, and runs until SIGINT/SIGTERM.
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Command } from '../command-table.js'
import { UsageError } from '../../internal/errors.js'
import { createLogger } from '../../internal/logger.js'
import { installShutdown } from '../../internal/shutdown.js'
import { EngineTaskRunner, Worker } from '../../mapreduce/cluster/index.js'
import { intFlag, parseFlags, secretFrom } from '../flags.js'

const HELP = `Usage: switchyard worker --connect HOST:PORT [options]

Runs a MapReduce cluster worker: registers with the coordinator, heartbeats,
runs tasks in one process per core and serves its shuffle blocks to other workers.

Options:
  --connect HOST:PORT    Coordinator address (required)
  --cores N              Task processes / slots (default: CPU count)
  --memory-mb M          Memory of this worker (MiB): cached partitions stay under half of it
  --host ADDR            Address the shuffle block server binds (default 127.0.0.1)
  --advertise ADDR       Address other workers use to reach it (default: --host)
  --block-port N         Shuffle block port (default 0: any free port)
  --cache-dir DIR        Content-addressed module cache (default ./.switchyard/cache)
  --scratch-dir DIR      Shuffle and spill files (default: a fresh dir under the OS tmp dir)
  --secret S | --secret-file PATH   Shared secret (or SWITCHYARD_SECRET)
  --insecure             Allow running without a secret (loopback experiments only)
  --no-shared-fs         Always fetch job modules and broadcasts from the coordinator, even when
                         the driver's file exists here with the same sha256

The worker only runs tasks from a coordinator that proved it knows the secret.
Job code is code: anyone with the secret can run anything as this user.
`

export const command: Command = {
  help: HELP,
  async run(argv) {
    const flags = parseFlags(argv, ['connect', 'cores', 'memory-mb', 'host', 'advertise', 'block-port', 'cache-dir', 'scratch-dir', 'secret', 'secret-file', 'heartbeat-interval-ms', 'heartbeat-timeout-ms'], ['insecure', 'no-shared-fs'])
    const connect = flags.values.get('connect')
    if (connect === undefined) throw new UsageError('Missing --connect HOST:PORT')
    const colon = connect.lastIndexOf(':')
    const host = connect.slice(0, colon).replace(/^\[|\]$/g, '')
    const port = Number(connect.slice(colon + 1))
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`Invalid --connect "${connect}": expected HOST:PORT`)
    const cores = intFlag(flags, 'cores', availableParallelism()) || 1
    const logger = createLogger({ name: 'worker' })
    const common = {
      secret: secretFrom(flags),
      insecure: flags.bools.has('insecure'),
      heartbeatIntervalMs: intFlag(flags, 'heartbeat-interval-ms', 1000),
      heartbeatTimeoutMs: intFlag(flags, 'heartbeat-timeout-ms', 6000),
    }
    const scratchRoot = flags.values.get('scratch-dir') ?? join(tmpdir(), `switchyard-worker-${process.pid}-${randomBytes(4).toString('hex')}`)
    const memoryMb = intFlag(flags, 'memory-mb', 0)
    const runner = new EngineTaskRunner({ cores, scratchRoot, cluster: common, noSharedFs: flags.bools.has('no-shared-fs'), ...(memoryMb > 0 ? { memoryMb } : {}) })
    const bindHost = flags.values.get('host') ?? '127.0.0.1'
    const worker = new Worker({
      ...common,
      coordinatorHost: host,
      coordinatorPort: port,
      cores,
      memoryMb,
      blockHost: bindHost,
      advertiseHost: flags.values.get('advertise') ?? bindHost,
      blockPort: intFlag(flags, 'block-port', 0),
      cacheDir: flags.values.get('cache-dir') ?? join(process.cwd(), '.switchyard', 'cache'),
      runner,
      blocks: runner.blockSource,
      logger,
    })
    await worker.start()
    process.stdout.write(`worker ${worker.workerId} registered with ${connect}; shuffle blocks on port ${worker.blockPort}\n`)
    await new Promise<void>((resolve) => {
      installShutdown({ logger, onShutdown: () => worker.close(), exit: () => resolve() })
    })
    return 0
  },
}
