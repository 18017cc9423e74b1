// `switchyard demo`: flags to DemoOptions; Ctrl-C stops early with the final summary.
import { parseArgs } from 'node:util'
import { spawn } from 'node:child_process'
import type { Command } from '../command-table.js'
import { UsageError } from '../../internal/errors.js'
import { parseDuration } from '../duration.js'

const help = `Usage: switchyard demo [options]

Runs the broker, the reverse proxy, origin servers in three regions, a traffic generator, fan-out
consumers and MapReduce analyses together, with a live dashboard.

Options:
  --duration <time>   How long to run (60s, 2m, 90000ms). Default 60s
  --dir <path>        Working directory (stream store, archive, cache). Default a new temp dir
  --job-every <time>  Time between MapReduce analyses. Default 10s
  --scale <n>         Traffic multiplier. Default 1
  --workers <n>       MapReduce worker processes. Default 2
  --open              Open the dashboard in a browser (xdg-open)
  -h, --help          Show this help
`

export const command: Command = {
  help,
  async run(argv) {
    let values
    try {
      ;({ values } = parseArgs({
        args: argv,
        options: {
          duration: { type: 'string', default: '60s' },
          dir: { type: 'string' },
          'job-every': { type: 'string', default: '10s' },
          scale: { type: 'string', default: '1' },
          workers: { type: 'string', default: '2' },
          open: { type: 'boolean', default: false },
        },
        strict: true,
      }))
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
    const scale = Number(values.scale)
    const workers = Number(values.workers)
    if (!(scale > 0)) throw new UsageError(`Invalid --scale "${values.scale}": expected a positive number`)
    if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`Invalid --workers "${values.workers}": expected a positive integer`)
    const { runDemo } = await import('../demo/demo.js')
    let stop: () => void = () => {}
    const stopSignal = new Promise<void>((resolve) => (stop = resolve))
    let signals = 0
    const onSignal = (): void => {
      signals++
      if (signals === 1) {
        process.stdout.write('\n  stopping (Ctrl-C again to exit at once)\n')
        stop()
      } else process.exit(130)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      const summary = await runDemo({
        durationMs: parseDuration(values.duration, '--duration'),
        jobEveryMs: parseDuration(values['job-every'], '--job-every'),
        scale,
        workers,
        stopSignal,
        ...(values.dir === undefined ? {} : { dir: values.dir }),
        onReady: (urls) => {
          if (values.open) spawn('xdg-open', [urls.dashboard], { stdio: 'ignore', detached: true }).on('error', () => {}).unref()
        },
      })
      return summary.archiveLines === summary.proxyServed && summary.analysis.total === summary.archiveLines ? 0 : 1
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  },
}
