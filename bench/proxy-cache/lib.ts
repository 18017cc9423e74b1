// Shared plumbing for bench/proxy-cache and bench/proxy-slowloris: peer installation, free ports,
// child processes, an nginx origin, the switchyard proxy from a YAML config, and wrk runs.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { newHistogram, type Sample } from '../lib/harness.js'
import { freePort, waitForPort } from '../lib/net.js'
import { childPids } from '../lib/proc.js'
import { compiledDist } from '../lib/compiled.js'
export { ensureInstalled } from '../lib/install.js'
export { freePort }

export const root = new URL('../..', import.meta.url).pathname

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 3000).unref()
  })
}

/** Spawns a server and waits for its ports; `workerPid`: measure its first child (nginx's worker). */
export async function spawnServer(
  cmd: string,
  args: string[],
  ports: number[],
  opts: { cwd?: string; workerPid?: boolean; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? root, stdio: ['ignore', 'ignore', 'inherit'] })
  for (const p of ports) await waitForPort(p, { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 100 })
  let pid = child.pid as number
  if (opts.workerPid === true) {
    await new Promise((r) => setTimeout(r, 200))
    pid = childPids(pid)[0] ?? pid
  }
  return { child, pid }
}

/** nginx as the origin; `locations` is the body of its server block. */
export async function startNginxOrigin(dir: string, locations: string, timeoutMs = 20_000): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const port = await freePort()
  // nginx workers run unprivileged: the mkdtemp directory (0700) must be readable to them.
  chmodSync(dir, 0o755)
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644)
  writeFileSync(
    join(dir, 'origin.conf'),
    `worker_processes 1;
pid ${dir}/origin.pid;
error_log ${dir}/origin-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:${port};
${locations}
  }
}
`,
  )
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'origin.conf'), '-g', 'daemon off;'], { stdio: 'inherit' })
  await waitForPort(port, { timeoutMs, intervalMs: 100 })
  return { url: `http://127.0.0.1:${port}`, port, stop: () => stopChild(child) }
}

let oursCmd: string[] | undefined

/** How to run ours: the compiled CLI (like an installed package), not through tsx (see bench/lib/compiled.ts). */
export function oursCommand(): string[] {
  oursCmd ??= [join(compiledDist(), 'cli/bin.js')]
  return oursCmd
}

/** `--node-args "..."` of the benches: extra node flags for ours only (e.g. GC sizing), split on spaces. */
export function nodeArgs(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(' ').filter((a) => a !== '')
}

/** Starts `switchyard proxy` (one process) from YAML; `{PORT}` in the text is replaced. */
export async function startSwitchyard(dir: string, name: string, yaml: (port: number) => string, extraNodeArgs: string[] = []): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const port = await freePort()
  const cfg = join(dir, `${name}.yaml`)
  writeFileSync(cfg, yaml(port))
  // workerPid: the CLI re-runs itself with --max-semi-space-size (src/cli/semi-space.ts); measure that process.
  const { child, pid } = await spawnServer(process.execPath, [...extraNodeArgs, ...oursCommand(), 'proxy', '--config', cfg, '--no-watch', '--log-level', 'warn', '--workers', '1'], [port], { workerPid: true })
  return { url: `http://127.0.0.1:${port}`, pid, stop: () => stopChild(child) }
}

export async function startNginx(dir: string, name: string, conf: (port: number) => string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const port = await freePort()
  const file = join(dir, `${name}.conf`)
  writeFileSync(file, conf(port))
  const { child, pid } = await spawnServer('nginx', ['-p', dir, '-c', file, '-g', 'daemon off;'], [port], { workerPid: true })
  return { url: `http://127.0.0.1:${port}`, pid, stop: () => stopChild(child) }
}

export function wrkScript(dir: string): string {
  const file = join(dir, 'pcts.lua')
  writeFileSync(
    file,
    `done = function(summary, latency, requests)
  io.write("SYPCT")
  for i = 1, 200 do io.write(" " .. latency:percentile(i / 2)) end
  io.write("\\n")
  io.write("SYSUM " .. summary.requests .. " " .. summary.duration .. " " .. (summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout) .. "\\n")
end
`,
  )
  return file
}

/** One wrk run; errors (non-2xx/3xx, socket errors) are not counted as operations. */
export function wrk(url: string, script: string, connections: number, seconds: number, headers: string[] = []): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, ...headers.flatMap((h) => ['-H', h]), url]
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('exit', () => {
      const sum = /SYSUM (\d+) (\d+) (\d+)/.exec(out)
      const pct = /SYPCT ([\d. ]+)/.exec(out)
      if (sum === null || pct === null) return reject(new Error(`wrk output not understood:\n${out}`))
      const requests = Number(sum[1])
      const errors = Number(sum[3])
      const h = newHistogram()
      for (const v of (pct[1] as string).trim().split(' ')) h.recordValue(Math.max(1, Math.round(Number(v))))
      if (errors > 0) console.log(`  note: ${errors} wrk errors of ${requests} requests at ${url}`)
      resolve({ ops: requests - errors, seconds: Number(sum[2]) / 1e6, latency: h })
    })
  })
}
