#!/usr/bin/env node
// `npm start`: builds dist/ when it is missing or older than src/, then runs `switchyard demo`.
import { spawnSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

function newest(dir) {
  let t = 0
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    const st = statSync(full)
    t = Math.max(t, st.isDirectory() ? newest(full) : st.mtimeMs)
  }
  return t
}

const built = join(root, 'dist/cli/bin.js')
if (!existsSync(built) || statSync(built).mtimeMs < newest(join(root, 'src'))) {
  console.log('switchyard: building (npm run build)...')
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const child = spawn(process.execPath, [join(root, 'bin/switchyard.js'), 'demo', ...process.argv.slice(2)], { stdio: 'inherit' })
// The demo handles SIGINT itself (graceful stop, summary); forward it once and wait.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
