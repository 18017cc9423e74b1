// Function shipping: turns user functions into FnSpecs at definition time and back into callable
// functions on workers. Inline functions are shipped as source text, so they must not capture
// variables: acorn finds free identifiers and the definition fails at once, naming the variable.
// Captured values travel explicitly as `env` (passed as the last argument), or the function is a
// module export wrapped with `shippable()`, which workers import by URL.
import { parse } from 'acorn'
import { freeVariables, type AnyNode } from './free-variables.js'
import { moduleDeclarations, userCallSite } from './module-scope.js'
import { JobError, JobErrorCodes } from './errors.js'
import type { FnSpec } from './task-spec.js'
import { TS_MODULE, typeScriptLoader } from './ts-loader.js'

const MODULE_REF = Symbol.for('switchyard.mapreduce.moduleRef')

interface ModuleRef {
  readonly module: string
  readonly exportName: string
}

/**
 * Marks `fn` as the export `exportName` of the module at `moduleUrl` (pass `import.meta.url`).
 * Workers import that module and call its export, so the function may use module-level imports
 * and constants. Returns `fn` itself, so `export const f = shippable(import.meta.url, 'f', (x) => ...)`.
 */
export function shippable<F extends (...args: never[]) => unknown>(moduleUrl: string, exportName: string, fn: F): F {
  if (typeof fn !== 'function') throw new JobError(JobErrorCodes.INVALID_ARGUMENT, 'Cannot mark as shippable: not a function')
  Object.defineProperty(fn, MODULE_REF, { value: { module: moduleUrl, exportName } satisfies ModuleRef })
  return fn
}

// Names a shipped function may use without capturing: the standard globals (same in every worker),
// plus esbuild's __name helpers (__name, __name2, ...) that tsx inserts around named inner functions.
// `globalThis` and `global` are not among them: through them a function reaches the worker's
// global object, not the driver's.
const allowedGlobals = new Set<string>([
  ...Object.getOwnPropertyNames(globalThis),
  'undefined', 'NaN', 'Infinity', '__name',
])
allowedGlobals.delete('globalThis')
allowedGlobals.delete('global')

/** Parses function source into an expression node, accepting method shorthand; returns the expression text. */
function parseFunction(source: string): { expr: string; node: AnyNode } {
  for (const expr of [`(${source})`, `Object.values({${source}})[0]`]) {
    try {
      const program = parse(expr, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as AnyNode
      return { expr, node: program }
    } catch {
      // try the next form
    }
  }
  throw new JobError(JobErrorCodes.FUNCTION_NOT_SHIPPABLE, `Cannot ship function: its source does not parse: ${source.slice(0, 80)}`)
}

export interface ToFnSpecOptions {
  /** Value passed as the last argument on every call (must be serialisable: structured clone). */
  env?: unknown
  /** Operator name for messages, e.g. "map". */
  what?: string
}

/** Checks `fn` and returns its FnSpec; throws ERR_JOB_FREE_VARIABLE naming a captured variable. */
export function toFnSpec(fn: unknown, options: ToFnSpecOptions = {}): FnSpec {
  const what = options.what ?? 'function'
  if (typeof fn !== 'function') throw new JobError(JobErrorCodes.INVALID_ARGUMENT, `${what}: expected a function, got ${typeof fn}`)
  const envPart = options.env === undefined ? {} : { env: options.env }
  const ref = (fn as unknown as Record<symbol, ModuleRef | undefined>)[MODULE_REF]
  if (ref !== undefined) return { kind: 'module', module: ref.module, exportName: ref.exportName, ...envPart }
  const source = Function.prototype.toString.call(fn)
  if (source.includes('[native code]')) {
    // A standard global such as String or Number: ship its name.
    const name = (fn as { name?: string }).name ?? ''
    if (name !== '' && (globalThis as Record<string, unknown>)[name] === fn) return { kind: 'source', source: name, ...envPart }
    throw new JobError(JobErrorCodes.FUNCTION_NOT_SHIPPABLE, `${what}: cannot ship a native or bound function; write an inline function or use shippable()`)
  }
  const { expr, node } = parseFunction(source)
  const offset = expr.startsWith('(') ? 1 : 'Object.values({'.length
  const lineOf = (pos: number): number => source.slice(0, Math.max(0, pos - offset)).split('\n').length
  const site = userCallSite()
  const at = (pos: number): string => `line ${lineOf(pos)} of the function${site === null ? '' : `, given at ${site.file}:${site.line}`}`
  const refuse = (message: string): never => {
    throw new JobError(JobErrorCodes.FREE_VARIABLE, `${what}: ${message}. Pass values explicitly: .${options.what ?? 'map'}((x, env) => ..., { env: { ... } }), or export the function from a module and wrap it with shippable(import.meta.url, 'exportName', fn)`)
  }
  const { free, thisCapture } = freeVariables(node)
  if (thisCapture !== null) refuse(`the function uses "this" from its surroundings (${at(thisCapture)}), which does not exist on workers`)
  for (const { name, pos } of free) {
    if (/^__name\d*$/.test(name)) continue
    if (name === 'Object' && expr.startsWith('Object.values') && pos === 0) continue
    if (name === 'arguments') refuse(`the function uses "arguments" of its surroundings (${at(pos)}), which does not exist on workers`)
    if (name === 'globalThis' || name === 'global') refuse(`the function uses "${name}" (${at(pos)}): on a worker it is the worker's global object, not the driver's`)
    if (allowedGlobals.has(name)) {
      // A standard global is fine unless the function's module declares the same name: then the
      // author means the module's binding, and the worker would silently use the global.
      const declared = site === null ? undefined : moduleDeclarations(site.file)?.get(name)
      if (declared !== undefined && site !== null) refuse(`the function uses "${name}" (${at(pos)}), which its module declares at ${site.file}:${declared}, shadowing the standard global; a worker would bind the global "${name}" instead`)
      continue
    }
    refuse(`the function uses "${name}" from its surroundings (${at(pos)}), which cannot be shipped to workers`)
  }
  return { kind: 'source', source: expr, ...envPart }
}

/** A compiled function and the env to pass as its last argument. */
export interface CompiledFn {
  readonly fn: (...args: unknown[]) => unknown
  readonly env: unknown
}

const sourceCache = new Map<string, (...args: unknown[]) => unknown>()
const keepName = <T>(f: T): T => f

/** Turns an FnSpec back into a function (workers and driver). Module exports are imported once. */
export async function compileFn(spec: FnSpec): Promise<CompiledFn> {
  if (spec.kind === 'module') {
    if (TS_MODULE.test(spec.module)) await typeScriptLoader()
    const mod = (await import(spec.module)) as Record<string, unknown>
    const fn = mod[spec.exportName]
    if (typeof fn !== 'function') {
      throw new JobError(JobErrorCodes.FUNCTION_NOT_SHIPPABLE, `Module ${spec.module} has no function export "${spec.exportName}"`)
    }
    return { fn: fn as (...args: unknown[]) => unknown, env: spec.env }
  }
  let fn = sourceCache.get(spec.source)
  if (fn === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- this is the function-shipping mechanism
    // esbuild (tsx) wraps named inner functions in __name(...), __name2(...) when loaded twice.
    const helpers = [...new Set(spec.source.match(/\b__name\d*\b/g) ?? ['__name'])]
    fn = new Function(...helpers, `"use strict"; return (${spec.source})`)(...helpers.map(() => keepName)) as (...args: unknown[]) => unknown
    if (sourceCache.size > 10_000) sourceCache.clear()
    sourceCache.set(spec.source, fn)
  }
  return { fn, env: spec.env }
}

/** Built-in function specs (no user code): used by operators implemented on top of others. */
export function builtin(source: string): FnSpec {
  return { kind: 'source', source: `(${source})` }
}
