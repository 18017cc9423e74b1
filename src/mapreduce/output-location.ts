// Checks a save action's output directory before any task runs: it must not exist (not even as a
// dangling symbolic link), its nearest existing ancestor must be a writable directory reached
// without dangling links, and it must not be on a virtual file system (procfs, sysfs), where
// `mkdirSync({ recursive: true })` loops forever at full CPU instead of failing.
import { accessSync, constants, lstatSync, statSync, statfsSync, type Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { JobError, JobErrorCodes } from './errors.js'

/** statfs magic numbers of kernel file systems that hold no user files. */
const VIRTUAL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
])

const lstatOrNull = (p: string): Stats | null => {
  try { return lstatSync(p) } catch { return null }
}

const bad = (dir: string, why: string, fix = 'choose another output directory'): JobError =>
  new JobError(JobErrorCodes.OUTPUT_LOCATION, `Cannot write output to ${dir}: ${why}; ${fix}`)

/** Throws ERR_JOB_OUTPUT_EXISTS or ERR_JOB_OUTPUT_LOCATION when `dir` cannot take a save's output. */
export function checkOutputLocation(dir: string): void {
  const abs = resolve(dir)
  const own = lstatOrNull(abs)
  if (own !== null) {
    if (own.isSymbolicLink() && lstatOrNull(resolve(dirname(abs))) !== null) {
      let target = true
      try { statSync(abs) } catch { target = false }
      if (!target) throw new JobError(JobErrorCodes.OUTPUT_EXISTS, `Output path ${abs} is a dangling symbolic link; remove it or choose another`)
    }
    throw new JobError(JobErrorCodes.OUTPUT_EXISTS, `Output directory ${abs} already exists; remove it or choose another`)
  }
  // The nearest ancestor that exists: everything below it will be created.
  let ancestor = dirname(abs)
  for (;;) {
    const st = lstatOrNull(ancestor)
    if (st !== null) {
      let target: Stats
      try {
        target = statSync(ancestor)
      } catch {
        throw bad(abs, `${ancestor} is a dangling symbolic link`)
      }
      if (!target.isDirectory()) throw bad(abs, `${ancestor} is not a directory`)
      break
    }
    const up = dirname(ancestor)
    if (up === ancestor) break
    ancestor = up
  }
  let fsType: number | null = null
  try { fsType = statfsSync(ancestor).type } catch { fsType = null }
  const virtual = fsType === null ? undefined : VIRTUAL_FS.get(fsType)
  if (virtual !== undefined || /^\/(proc|sys)(\/|$)/.test(ancestor)) throw bad(abs, `${ancestor} is on ${virtual ?? 'a kernel virtual file system'}, which holds no files`)
  try {
    accessSync(ancestor, constants.W_OK)
  } catch {
    throw bad(abs, `${ancestor} is not writable by this process`)
  }
}
