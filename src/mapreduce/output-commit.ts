// Atomic output of save actions. The job writes into a hidden sibling directory; each task writes
// its part file in its own attempt directory; the first successful attempt of a partition is
// renamed to part-NNNNN (later ones are deleted); after the last partition _SUCCESS is written and
// the whole directory is renamed into place in one step. A failed job deletes the hidden
// directory, so readers see either the complete output or nothing. A hidden directory left by a
// killed driver is removed by the next save to the same output (leftovers.ts).
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { JobError, JobErrorCodes } from './errors.js'
import { checkOutputLocation } from './output-location.js'
import { claimDir, OWNER_FILE, ownerTag, sweepOrphans } from './leftovers.js'

export class OutputCommitter {
  readonly dir: string
  readonly tempDir: string
  readonly #committed = new Set<number>()

  constructor(dir: string, jobId: string) {
    this.dir = resolve(dir)
    // Before any task runs: a bad location fails at once with a code (and never reaches a
    // recursive mkdir on procfs, which spins forever).
    checkOutputLocation(this.dir)
    const prefix = `.${basename(this.dir)}._temporary-`
    this.tempDir = join(dirname(this.dir), `${prefix}${ownerTag()}${jobId}`)
    try {
      mkdirSync(this.tempDir, { recursive: true })
      claimDir(this.tempDir)
      sweepOrphans(dirname(this.dir), prefix)
    } catch (err) {
      throw new JobError(JobErrorCodes.OUTPUT_LOCATION, `Cannot write output to ${this.dir}: ${(err as Error).message}; choose another output directory`, { cause: err })
    }
  }

  /** A task attempt finished writing `file`; true if it was the first for its partition. */
  commitTask(partition: number, file: string): boolean {
    if (this.#committed.has(partition)) {
      rmSync(dirname(file), { recursive: true, force: true })
      return false
    }
    renameSync(file, join(this.tempDir, `part-${String(partition).padStart(5, '0')}`))
    rmSync(dirname(file), { recursive: true, force: true })
    this.#committed.add(partition)
    return true
  }

  commitJob(): void {
    rmSync(join(this.tempDir, '_attempts'), { recursive: true, force: true })
    rmSync(join(this.tempDir, OWNER_FILE), { force: true })
    writeFileSync(join(this.tempDir, '_SUCCESS'), '')
    if (existsSync(this.dir)) throw new JobError(JobErrorCodes.OUTPUT_EXISTS, `Output directory ${this.dir} appeared while the job ran`)
    renameSync(this.tempDir, this.dir)
  }

  abortJob(): void {
    rmSync(this.tempDir, { recursive: true, force: true })
  }
}
