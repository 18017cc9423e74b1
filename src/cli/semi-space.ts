// V8's young-generation size for the proxy's processes (`--semi-space-mb`). A proxy allocates
// short-lived objects per request; a larger semi-space means fewer scavenges (issue #20: CPU per
// request fell in an A/B, see docs/benchmarks.md). V8 reads the flag only at start-up, so it is
// passed to cluster workers in execArgv and a single process re-runs itself once with it.
import { fork } from 'node:child_process'
import { constants } from 'node:os'
import type { Logger } from '../internal/logger.js'

/** Default of `--semi-space-mb` (V8's own default on 64-bit Node 20 is 16). 0: leave V8's default. */
export const DEFAULT_SEMI_SPACE_MB = 32

const FLAG = '--max-semi-space-size'

/** The flag as node takes it, or undefined when V8's default is asked for. */
export function semiSpaceArg(mb: number): string | undefined {
  return mb > 0 ? `${FLAG}=${mb}` : undefined
}

/** Whether this process (or NODE_OPTIONS) already sets the semi-space size; then it is left alone. */
export function semiSpaceGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => a === FLAG || a.startsWith(`${FLAG}=`) || a === '--max_semi_space_size' || a.startsWith('--max_semi_space_size=')) || /--max[-_]semi[-_]space[-_]size\b/.test(nodeOptions ?? '')
}

/** execArgv for child processes (cluster workers): this process's, plus the flag unless it is given. */
export function execArgvWithSemiSpace(mb: number, execArgv: readonly string[] = process.execArgv): string[] {
  const arg = semiSpaceArg(mb)
  if (arg === undefined || semiSpaceGiven(execArgv, process.env['NODE_OPTIONS'])) return [...execArgv]
  return [...execArgv, arg]
}

/** Signals the wrapper passes on to the re-run process (reload, shutdown, log reopen). */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGUSR2']

/**
 * Runs this same command again with the flag and waits for it; resolves with its exit code. The
 * child gets its own process group so a terminal's Ctrl-C reaches it once (through us), not twice
 * (a second signal means "exit now"); it ends itself when this wrapper goes away (IPC disconnect).
 */
export function reexecWithSemiSpace(mb: number, logger: Logger): Promise<number> {
  const execArgv = execArgvWithSemiSpace(mb)
  const script = process.argv[1] as string
  const child = fork(script, process.argv.slice(2), { execArgv, stdio: 'inherit', detached: true, env: { ...process.env, SWITCHYARD_REEXEC: '1' } })
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  for (const s of FORWARDED) process.on(s, forward)
  return new Promise((resolve) => {
    child.once('error', (err) => {
      logger.error({ err }, `could not start the proxy process with ${FLAG}`)
      resolve(1)
    })
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward)
      resolve(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0)))
    })
  })
}

/** In the re-run process: end gracefully when the wrapper that started it is gone. */
export function exitWithWrapper(shutdown: () => void): void {
  if (process.env['SWITCHYARD_REEXEC'] !== '1' || process.channel === undefined) return
  process.once('disconnect', shutdown)
  // The IPC channel must not keep the event loop alive on its own.
  process.channel.unref()
}
