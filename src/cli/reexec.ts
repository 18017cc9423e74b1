// Runs this same `switchyard` command again in a child node process with extra node flags, and
// waits for it: for what node reads only at start-up (a V8 flag, a module loader to preload). The
// child gets its own process group so a terminal's Ctrl-C reaches it once (through us), not twice
// (a second signal means "exit now"); the wrapper passes signals on and exits with the child's code.
import { fork } from 'node:child_process'
import { constants } from 'node:os'

/** Signals the wrapper passes on to the re-run process (reload, shutdown, log reopen). */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGUSR2']

/**
 * Re-runs the command with `execArgv` (the whole list, not additions); resolves with its exit code,
 * or 1 after `onError` when it cannot start. The child sees SWITCHYARD_REEXEC=1 and an IPC channel.
 */
export function reexec(execArgv: readonly string[], onError: (err: Error) => void): Promise<number> {
  const script = process.argv[1] as string
  const child = fork(script, process.argv.slice(2), { execArgv: [...execArgv], stdio: 'inherit', detached: true, env: { ...process.env, SWITCHYARD_REEXEC: '1' } })
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  for (const s of FORWARDED) process.on(s, forward)
  return new Promise((resolve) => {
    child.once('error', (err) => {
      for (const s of FORWARDED) process.off(s, forward)
      onError(err)
      resolve(1)
    })
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward)
      resolve(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0)))
    })
  })
}

/** In the re-run process: `onGone` when the wrapper that started it is gone (IPC disconnect). */
export function whenWrapperGone(onGone: () => void): void {
  if (process.env['SWITCHYARD_REEXEC'] !== '1' || process.channel === undefined) return
  process.once('disconnect', onGone)
  // The IPC channel must not keep the event loop alive on its own.
  process.channel.unref()
}
