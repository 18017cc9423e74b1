// V8's young-generation size for the proxy's processes (`--semi-space-mb`). A proxy allocates
// short-lived objects per request; a larger semi-space means fewer scavenges (issue #20: CPU per
// request fell in an A/B, see docs/benchmarks.md). V8 reads the flag only at start-up, so it is
// passed to cluster workers in execArgv and a single process re-runs itself once with it (reexec.ts).
import type { Logger } from '../internal/logger.js'
import { reexec, whenWrapperGone } from './reexec.js'

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

/** Runs this same command again with the flag (cli/reexec.ts) and waits for it; resolves with its exit code. */
export function reexecWithSemiSpace(mb: number, logger: Logger): Promise<number> {
  return reexec(execArgvWithSemiSpace(mb), (err) => logger.error({ err }, `could not start the proxy process with ${FLAG}`))
}

/** In the re-run process: end gracefully when the wrapper that started it is gone. */
export function exitWithWrapper(shutdown: () => void): void {
  whenWrapperGone(shutdown)
}
