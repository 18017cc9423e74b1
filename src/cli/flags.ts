// Flag parsing for the MapReduce commands (run, coordinator, worker), on node:util's parseArgs
// like the broker, proxy and demo commands: `--name value`, `--name=value`, boolean flags; an
// unknown flag, a missing value or a stray argument is a usage error.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { UsageError } from '../internal/errors.js'

export interface ParsedFlags {
  values: Map<string, string>
  bools: Set<string>
  /** Positional arguments, when the command takes them. */
  positionals: string[]
}

export function parseFlags(argv: readonly string[], valued: readonly string[], booleans: readonly string[], allowPositionals = false): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean' }> = {}
  for (const name of valued) options[name] = { type: 'string' }
  for (const name of booleans) options[name] = { type: 'boolean' }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals }) as typeof parsed
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const values = new Map<string, string>()
  const bools = new Set<string>()
  for (const [name, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string') values.set(name, v)
    else if (v === true) bools.add(name)
  }
  return { values, bools, positionals: parsed.positionals }
}

export function intFlag(flags: ParsedFlags, name: string, fallback: number): number {
  const v = flags.values.get(name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`Flag "--${name}" expects a non-negative integer, got "${v}"`)
  return n
}

/** --secret, else --secret-file, else SWITCHYARD_SECRET; '' when none. */
export function secretFrom(flags: ParsedFlags): string {
  const direct = flags.values.get('secret')
  if (direct !== undefined) return direct
  const file = flags.values.get('secret-file')
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim()
    } catch (err) {
      throw new UsageError(`Cannot read --secret-file "${file}": ${(err as Error).message}`)
    }
  }
  return process.env.SWITCHYARD_SECRET ?? ''
}
