// TypeScript job modules in worker processes. A worker starts with tsx's loader only when the
// engine itself runs from its .ts sources or the driver was started with it; otherwise it registers
// tsx the first time a job ships a function exported from a .ts module.
import { tsxImportArgs, tsxPreloaded } from '../internal/tsx.js'

/**
 * Node flags for a worker process: tsx's loader when the engine runs from its TypeScript sources,
 * or when the driver itself was started with it (its job modules are then likely TypeScript, and a
 * preloaded tsx is what they were written against). Otherwise none: a worker that meets a .ts
 * module registers tsx then (typeScriptLoader).
 */
export function workerLoaderArgs(): string[] {
  if (!import.meta.url.endsWith('.ts') && !tsxPreloaded()) return []
  return tsxImportArgs() ?? []
}

export const TS_MODULE = /\.[cm]?tsx?(?:[?#].*)?$/
let tsLoader: Promise<void> | undefined

/**
 * Makes `import()` of TypeScript modules work in this process: worker processes of a plain
 * JavaScript driver start without tsx's loader (a hooks thread, 0.3-0.8 s of CPU and about 40 MB
 * per process) and register it the first time a job ships a function exported from a .ts module.
 * A process that already runs through tsx (the engine's own sources are .ts, or node was started
 * with `--import tsx`) has it.
 */
export function typeScriptLoader(): Promise<void> {
  if (import.meta.url.endsWith('.ts') || tsxPreloaded()) return Promise.resolve()
  // Both halves, as `node --import tsx` registers them: tsx compiles a .ts file outside a
  // "type": "module" package as CommonJS.
  tsLoader ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    cjs.register()
    esm.register()
  })
  return tsLoader
}
