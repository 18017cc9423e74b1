// What a killed driver leaves behind (its scratch directory, a save's hidden _temporary directory)
// is cleaned on the next run: each such directory holds an owner file naming the host and process
// that made it, and a later driver on the same host removes the ones whose process is gone.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

export const OWNER_FILE = '_owner'

/** Marks `dir` as this process's own. */
export function claimDir(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${hostname()} ${process.pid}\n`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: a process of another user has that pid, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True when `dir` names this host and a process that no longer runs (never for a foreign host). */
function orphaned(dir: string): boolean {
  let text: string
  try {
    text = readFileSync(join(dir, OWNER_FILE), 'utf8')
  } catch {
    return false // no owner file: not ours to judge (an older version's, or still being made)
  }
  const [host, pidText] = text.trim().split(' ')
  const pid = Number(pidText)
  return host === hostname() && Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)
}

/** Removes the entries of `parent` whose name starts with `prefix` and whose owner is gone; returns them. */
export function sweepOrphans(parent: string, prefix: string): string[] {
  let names: string[]
  try {
    names = readdirSync(parent)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const dir = join(parent, name)
    if (!orphaned(dir)) continue
    rmSync(dir, { recursive: true, force: true })
    removed.push(dir)
  }
  return removed
}
