// Graceful shutdown for long-running commands: the first SIGINT/SIGTERM stops accepting and lets
// in-flight work finish within a deadline, then exits 0; a second signal exits at once.
import type { Logger } from 'pino'

export interface ShutdownOptions {
  /** Called once on the first signal; should stop accepting and finish in-flight work. */
  onShutdown: (signal: string) => Promise<void> | void
  /** How long onShutdown may take before the process exits anyway (exit code 1). */
  deadlineMs?: number
  logger?: Logger
  /** Injected for tests; default process.exit. */
  exit?: (code: number) => void
  signals?: readonly NodeJS.Signals[]
}

export interface ShutdownHandle {
  /** Runs the same sequence as a signal would (for `--duration` ends). */
  trigger(reason: string): Promise<void>
  /** Removes the signal handlers. */
  dispose(): void
}

export function installShutdown(options: ShutdownOptions): ShutdownHandle {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  const deadlineMs = options.deadlineMs ?? 10_000
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  let running: Promise<void> | undefined

  const trigger = (reason: string): Promise<void> => {
    if (running !== undefined) {
      options.logger?.warn({ reason }, 'second shutdown request: exiting now')
      exit(130)
      return running
    }
    options.logger?.info({ reason, deadlineMs }, 'shutting down')
    running = (async () => {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadlineMs)
      })
      try {
        const outcome = await Promise.race([Promise.resolve(options.onShutdown(reason)).then(() => 'done' as const), deadline])
        if (outcome === 'timeout') {
          options.logger?.error({ deadlineMs }, 'shutdown deadline passed: exiting with work still in flight')
          exit(1)
          return
        }
        exit(0)
      } catch (err) {
        options.logger?.error({ err }, 'shutdown failed')
        exit(1)
      } finally {
        clearTimeout(timer)
      }
    })()
    return running
  }

  const handler = (signal: NodeJS.Signals): void => {
    void trigger(signal)
  }
  for (const s of signals) process.on(s, handler)
  return {
    trigger,
    dispose() {
      for (const s of signals) process.off(s, handler)
    },
  }
}
