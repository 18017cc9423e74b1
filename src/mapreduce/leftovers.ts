// What a killed driver leaves behind (its scratch directory, a save's hidden _temporary directory)
// is cleaned on the next run: each such directory holds an owner file naming the host and process
// that made it, and a later driver on the same host removes the ones whose process is gone.
// The owner is also in the directory's name (`<pid>.<host hash>-`, right after the prefix): a
// driver killed between making the directory and writing its owner file leaves an empty directory
// that the name alone still judges.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
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
  // Written aside and renamed, so the owner file is either absent or whole: a kill -9 between
  // creating and writing it used to leave an empty one, which no later run would judge.
  const tmp = join(dir, `${OWNER_FILE}.${process.pid}.tmp`)
  writeFileSync(tmp, `${hostname()} ${process.pid}\n`)
  renameSync(tmp, join(dir, OWNER_FILE))
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
    text = ''
  }
  const owner = /^(\S+) (\d+)$/.exec(text.trim())
  if (owner === null) {
    // No owner file, or an incomplete one (an older version wrote it in place, so a kill could
    // leave it empty): its maker was killed before writing it, or is about to. Only the name can
    // tell; a name without the tag (an older version's) is not ours to judge.
    const m = TAG.exec(rest)
    return m !== null && m[2] === hostTag() && deadHere(Number(m[1]))
  }
  return owner[1] === hostname() && deadHere(Number(owner[2]))
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
