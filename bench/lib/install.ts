// Bench peers from Debian: find a binary, or apt-get install its package (with one `apt-get update`
// retry), or fail with a typed error that names the package.
import { spawnSync } from 'node:child_process'
import { InternalErrorCodes, SwitchyardError } from '../../src/internal/errors.js'

function find(bin: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${bin} || ls /usr/sbin/${bin} 2>/dev/null`], { encoding: 'utf8' })
  return r.stdout.trim().split('\n')[0] ?? ''
}

/** The path of `bin`, installing Debian package `pkg` first when it is missing. */
export function ensureInstalled(bin: string, pkg: string): string {
  let path = find(bin)
  if (path !== '') return path
  console.log(`${bin} missing: apt-get install -y ${pkg}`)
  spawnSync('sh', ['-c', `apt-get install -y ${pkg} || (apt-get update && apt-get install -y ${pkg})`], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  path = find(bin)
  if (path === '') throw new SwitchyardError(InternalErrorCodes.BENCH_PEER_MISSING, `${bin} is not installed and apt-get install -y ${pkg} failed`)
  return path
}
