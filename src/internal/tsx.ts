// tsx's loader as a node flag: whether this process was started with it, and the flag that starts
// a child with it. Shared by `switchyard run` (a .ts job re-runs itself with tsx preloaded) and the
// MapReduce workers (which get it when their driver has it).

/** Whether node was started with tsx's loader (`--import tsx`, or tsx's own command). */
export function tsxPreloaded(): boolean {
  return process.execArgv.some((a) => /(?:^|[=/\\])tsx(?:$|[/\\])/.test(a))
}

/** `['--import', <tsx's loader>]`, or null when the tsx package cannot be resolved. */
export function tsxImportArgs(): string[] | null {
  try {
    return ['--import', import.meta.resolve('tsx')]
  } catch {
    return null
  }
}
