// The result side of a task other than a shuffle write: part files of a save or a checkpoint, and
// the per-partition values of actions (collect, count, take, fold, foreach, sort sampling).
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { serialize as v8Serialize } from 'node:v8'
import { compileFn } from './closure.js'
import { matchFusedReduce } from './fused/index.js'
import { checkRecords } from './record-values.js'
import { estimateHeapBytes } from './size-estimate.js'
import { JobError, JobErrorCodes } from './errors.js'
import { writeShuffle } from './shuffle-write.js'
import type { Batches } from './task-batches.js'
import type { TaskContext } from './task-runner.js'
import type { TaskDescription, TaskResult } from './task-spec.js'
import { prng } from '../internal/prng.js'

/**
 * Makes `root/a/b...` one level at a time, never `root` itself. `root` is the save's hidden
 * `_temporary` directory, which the driver makes: when it is gone, the driver was killed and a later
 * run swept it (leftovers.ts), and a worker still busy with that driver's queued tasks must fail
 * them, not make the directory again as a new orphan.
 */
function attemptDir(root: string, ...parts: string[]): string {
  let dir = root
  for (const part of parts) {
    dir = join(dir, part)
    try {
      mkdirSync(dir)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && dir === join(root, parts[0] as string)) {
        throw new JobError(JobErrorCodes.OUTPUT_LOCATION, `The save's temporary directory ${root} is gone (its driver ended, or another run removed it)`, { cause: err })
      }
      if (code !== 'EEXIST') throw err
    }
  }
  return dir
}

async function writeSave(ctx: TaskContext, output: Extract<TaskDescription['output'], { kind: 'save' }>): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const dir = attemptDir(output.dir, '_attempts', `${task.partition}-${task.attempt}`)
  const file = join(dir, `part-${String(task.partition).padStart(5, '0')}`)
  const fd = openSync(file, 'w')
  try {
    const fused = task.fused === false ? undefined : matchFusedReduce(task.plan, output)
    // A fused reduce side that returns false has written nothing: the generic path runs.
    if (fused !== undefined && await fused.run({ shuffleInputs: task.shuffleInputs, partition: task.partition, fetcher: ctx.services.fetcher, budgetBytes: task.memoryBudgetBytes, fd, counters: c })) {
      ctx.fusedStage = fused.name
      return { kind: 'saved', file }
    }
    let pending = ''
    for await (const b of ctx.compute(task.plan, task.partition)) {
      const lines = new Array<string>(b.length)
      for (let i = 0; i < b.length; i++) {
        const x = b[i]
        if (output.format === 'text' && typeof x === 'string') {
          // UTF-8 cannot hold a lone surrogate: writing it would silently turn it into U+FFFD.
          if (!x.isWellFormed()) throw new JobError(JobErrorCodes.UNSUPPORTED_VALUE, `saveAsTextFile: record ${c.recordsOut + i} of partition ${task.partition} is a string with a lone UTF-16 surrogate, which UTF-8 text cannot hold (it would become U+FFFD); use saveAsJsonLines, which escapes it, or fix the string`)
          lines[i] = x
        } else lines[i] = JSON.stringify(x)
      }
      c.recordsOut += b.length
      if (b.length > 0) pending += `${lines.join('\n')}\n`
      if (pending.length >= 1 << 20) { writeSync(fd, pending); pending = '' }
    }
    if (pending.length > 0) writeSync(fd, pending)
  } finally {
    closeSync(fd)
  }
  return { kind: 'saved', file }
}

/** Computes the task's partition and delivers it as its output kind asks. */
export async function runOutput(ctx: TaskContext): Promise<TaskResult> {
  const { task, counters: c } = ctx
  const output = task.output
  const records = (): Batches => ctx.compute(task.plan, task.partition)
  switch (output.kind) {
    case 'shuffle': return writeShuffle(ctx, output)
    case 'save': return writeSave(ctx, output)
    case 'checkpoint': {
      const all: unknown[] = []
      for await (const b of records()) for (let i = 0; i < b.length; i++) all.push(b[i])
      checkRecords(all, 'checkpoint')
      mkdirSync(output.dir, { recursive: true })
      const file = join(output.dir, `part-${String(task.partition).padStart(5, '0')}.v8`)
      const tmp = `${file}.${task.attempt}.${process.pid}.tmp`
      writeFileSync(tmp, v8Serialize(all))
      renameSync(tmp, file)
      c.recordsOut = all.length
      return { kind: 'saved', file }
    }
    case 'collect': {
      const all: unknown[] = []
      const guard = resultGuard(output.maxResultBytes, 'collect', task.partition)
      for await (const b of records()) {
        for (let i = 0; i < b.length; i++) all.push(b[i])
        guard.check(all)
      }
      c.recordsOut = all.length
      checkRecords(all, 'collect')
      return { kind: 'value', value: all, bytes: guard.final(all) }
    }
    case 'count': {
      let n = 0
      await ctx.drive(task.plan, task.partition, () => { n++ })
      c.recordsOut = n
      return { kind: 'value', value: n }
    }
    case 'take': {
      const out: unknown[] = []
      if (output.n > 0) {
        for await (const b of records()) {
          for (const x of b) { out.push(x); if (out.length >= output.n) break }
          if (out.length >= output.n) break
        }
      }
      c.recordsOut = out.length
      checkRecords(out, 'take')
      return { kind: 'value', value: out, bytes: resultGuard(output.maxResultBytes, 'take', task.partition).final(out) }
    }
    case 'fold': {
      const { fn, env } = await ctx.compileFn(output.fn)
      let acc: unknown = output.hasZero ? structuredCloneIfObject(output.zero) : undefined
      let has = output.hasZero
      for await (const b of records()) {
        for (const x of b) {
          if (!has) { acc = x; has = true } else acc = fn(acc, x, env)
        }
      }
      checkRecords(acc, 'reduce')
      return { kind: 'value', value: { has, acc } }
    }
    case 'foreach': {
      const { fn, env } = await ctx.compileFn(output.fn)
      for await (const b of records()) for (const x of b) fn(x, env)
      return { kind: 'value', value: null }
    }
    case 'sample-keys': {
      const rand = prng(output.seed * 7919 + task.partition)
      const keyFn = output.keyFn === undefined ? null : await compileFn(output.keyFn)
      const limit = output.maxRecords ?? output.size * 100
      const sample: unknown[] = []
      let seen = 0
      for await (const b of records()) {
        for (const x of b) {
          const k = keyFn === null ? (x as [unknown, unknown])[0] : keyFn.fn(x, keyFn.env)
          seen++
          if (sample.length < output.size) sample.push(k)
          else {
            const j = Math.floor(rand() * seen)
            if (j < output.size) sample[j] = k
          }
        }
        if (seen >= limit) break
      }
      return { kind: 'value', value: { sample, count: seen } }
    }
  }
}

/**
 * Keeps a partition's collected records under the driver's limit: estimated at doubling record
 * counts while they accumulate (so a partition far over the limit stops early instead of filling
 * the worker), and once at the end; the estimate goes to the driver, which sums the partitions.
 */
function resultGuard(limit: number | undefined, action: string, partition: number): { check(all: readonly unknown[]): void; final(all: readonly unknown[]): number } {
  let next = 1024
  const over = (all: readonly unknown[]): number => {
    const bytes = estimateHeapBytes(all)
    if (limit !== undefined && bytes > limit) {
      throw new JobError(JobErrorCodes.RESULT_TOO_LARGE, `${action}: partition ${partition} alone holds about ${mib(bytes)} MiB (${all.length} records so far), over maxResultMb (${mib(limit)} MiB); write the result with saveAsTextFile, reduce it first, or raise maxResultMb on purpose`)
    }
    return bytes
  }
  return {
    check(all) { if (all.length >= next) { next *= 2; over(all) } },
    final: over,
  }
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

function structuredCloneIfObject(z: unknown): unknown {
  return z !== null && typeof z === 'object' ? structuredClone(z) : z
}
