#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs bench/<name>/index.ts (or bench/<name>.ts) through tsx.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const [name, ...args] = process.argv.slice(2)
const benches = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'bench', d.name, 'index.ts')))
  .map((d) => d.name)
if (name === undefined) {
  console.log(`Usage: npm run bench -- <name> [options]\n\nBenchmarks: ${benches.join(', ') || '(none)'}`)
  process.exit(1)
}
const file = [join(root, 'bench', name, 'index.ts'), join(root, 'bench', `${name}.ts`)].find((f) => existsSync(f))
if (file === undefined) {
  console.error(`bench: no benchmark named "${name}"; available: ${benches.join(', ')}`)
  process.exit(2)
}
const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, stdio: 'inherit' })
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
