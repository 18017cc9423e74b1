// How a test starts a TypeScript file of this repository as a child process. `npm test` runs the
// suite compiled to JavaScript in a mirror of the repository (scripts/build-tests.mjs), where every
// `x.ts` has its `x.js` beside it: children then run the JavaScript too, without tsx's loader (0.3-0.8 s
// of CPU per process). A test file run by hand through tsx (`node --import tsx --test file.ts`) starts
// its children through tsx, as before. Either way the caller's paths stay the `.ts` names.

/** True when the tests run compiled (npm test), false when they run through tsx. */
export const COMPILED = import.meta.url.endsWith('.js')

/**
 * Node arguments that run the TypeScript file `file` (absolute, or relative to the child's cwd),
 * named by its .ts or, as a file finds itself from import.meta.url when compiled, its .js.
 */
export function runTs(file: string): string[] {
  if (!/\.[jt]s$/.test(file)) throw new Error(`runTs: not a .ts (or its compiled .js) file: ${file}`)
  // Source maps on, as tsx has them: stack traces and uncaught errors name the .ts lines.
  return COMPILED ? ['--enable-source-maps', file.replace(/\.ts$/, '.js')] : ['--import', 'tsx', file.replace(/\.js$/, '.ts')]
}

/** The `switchyard` command from source: run it with `cwd` at the repository root (the mirror's, compiled). */
export const CLI: readonly string[] = runTs('src/cli/bin.ts')
