// Ours as users run it: src/ compiled to JavaScript (like the installed package's dist/), not through
// tsx, whose loader adds a hooks thread and about 40 MB of RSS to every process it starts. Compiled
// once per bench run into dist/ (what `npm run build` makes and the `switchyard` command runs; at the
// depth src/internal/version.ts expects); tsc emits even when an unrelated file has type errors.
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
let dist: string | undefined

/** The directory holding compiled src/ (`broker/index.js`, `cli/bin.js`, ...). Throws when tsc produced nothing. */
export function compiledDist(): string {
  if (dist !== undefined) return dist
  const out = join(root, 'dist')
  rmSync(out, { recursive: true, force: true })
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'ignore' })
  if (!existsSync(join(out, 'cli/bin.js')) || !existsSync(join(out, 'broker/index.js'))) throw new Error(`bench: compiling src/ into ${out} failed (run npx tsc -p tsconfig.build.json to see why)`)
  dist = out
  console.log(`ours runs as compiled JavaScript from ${out}`)
  return out
}

/** Node arguments that start bench/lib/serve-broker.mjs in `mode` on the compiled broker. */
export function serveBrokerArgs(mode: 'nats' | 'mqtt' | 'resp' | 'cluster-node' | 'streams', ...rest: string[]): string[] {
  return [join(root, 'bench/lib/serve-broker.mjs'), compiledDist(), mode, ...rest]
}
