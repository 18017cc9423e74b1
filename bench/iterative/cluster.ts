// Bench helper: a coordinator in this process and N `switchyard worker` processes on loopback.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Coordinator } from '../../src/mapreduce/cluster/coordinator.js'
import { ClusterExecutor } from '../../src/mapreduce/cluster/cluster-executor.js'
import { Context, type ContextOptions } from '../../src/mapreduce/index.js'
import { cpuSeconds } from '../lib/proc.js'

const root = new URL('../../', import.meta.url).pathname
export const SECRET = randomBytes(16).toString('hex')

export interface BenchCluster {
  coordinator: Coordinator
  procs: ChildProcess[]
  context(options?: ContextOptions): Context
  addWorker(memoryMb: number): Promise<void>
  /**
   * CPU seconds used by this process (driver + coordinator) and every worker daemon and task
   * process, accumulated over readings: only differences between two readings mean anything.
   */
  cpuSeconds(): number
  stop(): Promise<void>
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export async function startBenchCluster(workers: number, memoryMb = 1024): Promise<BenchCluster> {
  const coordinator = await Coordinator.start({ port: 0, secret: SECRET, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 8000 })
  const procs: ChildProcess[] = []
  const cache = join(tmpdir(), `sy-bench-cache-${randomBytes(4).toString('hex')}`)
  const spawnOne = (): void => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'worker', '--connect', `127.0.0.1:${coordinator.port}`, '--cores', '1', '--memory-mb', String(memoryMb), '--cache-dir', cache, '--heartbeat-interval-ms', '500', '--heartbeat-timeout-ms', '8000'],
      { cwd: root, env: { ...process.env, SWITCHYARD_SECRET: SECRET }, stdio: ['ignore', 'ignore', 'inherit'] },
    )
    procs.push(child)
  }
  const lastCpu = new Map<number, number>()
  let cpuTotal = 0
  for (let i = 0; i < workers; i++) spawnOne()
  await coordinator.waitForWorkers(workers, 60_000)
  return {
    coordinator,
    procs,
    context(options = {}) {
      const executor = new ClusterExecutor({ master: coordinator.url, secret: SECRET, minWorkers: coordinator.aliveWorkers().length })
      return new Context({ ...options, executor, memoryPerWorkerMb: memoryMb })
    },
    async addWorker() {
      const n = coordinator.aliveWorkers().length
      spawnOne()
      await coordinator.waitForWorkers(n + 1, 60_000)
    },
    cpuSeconds() {
      // Sum of per-process increases since the previous reading, so a killed worker's past CPU
      // does not vanish from the total; a process first seen now counts from now on.
      const now = new Map<number, number>()
      const own = process.cpuUsage()
      now.set(process.pid, (own.user + own.system) / 1e6)
      for (const p of procs) {
        if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) continue
        for (const pid of [p.pid, ...childrenOf(p.pid)]) {
          try {
            now.set(pid, cpuSeconds(pid))
          } catch {
            // exited meanwhile
          }
        }
      }
      for (const [pid, s] of now) {
        const before = lastCpu.get(pid)
        if (before !== undefined) cpuTotal += s - before
      }
      lastCpu.clear()
      for (const [pid, s] of now) lastCpu.set(pid, s)
      return cpuTotal
    },
    async stop() {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL')
      await coordinator.close()
      rmSync(cache, { recursive: true, force: true })
    },
  }
}
