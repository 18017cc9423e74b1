// What a killed driver leaves behind (its scratch directory, a save's hidden _temporary directory)
// is cleaned on the next run: each such directory holds an owner file naming the host and process
// that made it, and a later driver on the same host removes the ones whose process is gone.
// The owner is also in the directory's name (`<pid>.<host hash>-`, right after the prefix): a
// driver killed between making the directory and writing its owner file leaves an empty directory
// that the name alone still judges.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

export const OWNER_FILE = '_owner'

let hostTagMemo: string | undefined
function hostTag(): string {
  hostTagMemo ??= createHash('sha256').update(hostname()).digest('hex').slice(0, 8)
  return hostTagMemo
}

/** The part of a claimed directory's name after its prefix that names this process and host. */
export function ownerTag(): string {
  return `${process.pid}.${hostTag()}-`
}

const TAG = /^(\d{1,10})\.([0-9a-f]{8})-/

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

function deadHere(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)
}

/** True when `dir` names this host and a process that no longer runs (never for a foreign host). */
function orphaned(dir: string, rest: string): boolean {
  let text: string
  try {
    text = readFileSync(join(dir, OWNER_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false
    // No owner file: its maker was killed before writing it, or is about to write it. Only the
    // name can tell; a name without the tag (an older version's) is not ours to judge.
    const m = TAG.exec(rest)
    return m !== null && m[2] === hostTag() && deadHere(Number(m[1]))
  }
  const [host, pidText] = text.trim().split(' ')
  return host === hostname() && deadHere(Number(pidText))
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
    if (!orphaned(dir, name.slice(prefix.length))) continue
    rmSync(dir, { recursive: true, force: true })
    removed.push(dir)
  }
  return removed
}
