// Checks shared by the wings' option resolvers (broker/options.ts, mapreduce/options.ts, ...): the
// one way a programmatic option is validated. Each wing passes its own `refuse`, which throws that
// wing's typed error (BrokerError OPTIONS, JobError INVALID_ARGUMENT, ...), so the message reads the
// same everywhere and the code stays the wing's. Config files are validated earlier by their zod
// schemas (with file:line:col) and then go through these same resolvers.

/** Throws the caller's typed error with `message`. */
export type Refuse = (message: string) => never

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

/** `value` as an integer from `min` to `max` (default: no upper bound), or refused. */
export function intOption(refuse: Refuse, name: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    refuse(`Cannot use ${name} ${show(value)}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}`)
  }
  return value
}

/** `value` as a number from `min` to `max` inclusive, or refused. */
export function numberOption(refuse: Refuse, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) refuse(`Cannot use ${name} ${show(value)}: expected a number from ${min} to ${max}`)
  return value
}

/** Refuses any key of `obj` outside `known`: a setting this version does not act on is never silently ignored. */
export function knownKeysOnly(refuse: Refuse, where: string, obj: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(obj)) if (!known.has(key)) refuse(`Cannot use ${where}.${key}: unknown option (known: ${[...known].join(', ')})`)
}

/** `value` as a boolean, or refused. */
export function boolOption(refuse: Refuse, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') refuse(`Cannot use ${name} ${show(value)}: expected true or false`)
  return value
}

/** `value` as a fraction in (0, 1], or refused. */
export function fractionOption(refuse: Refuse, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) refuse(`Cannot use ${name} ${show(value)}: expected a number above 0 and at most 1`)
  return value
}
