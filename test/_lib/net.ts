// Loopback helpers for tests and benchmarks that start real servers: a free port, and a wait until
// something listens on one (failing early when the process that should listen has exited).
// bench/lib/net.ts re-exports these for the benchmarks.
import type { ChildProcess } from 'node:child_process'
import { createConnection, createServer } from 'node:net'

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface WaitForPortOptions {
  timeoutMs?: number
  intervalMs?: number
  /** The process expected to listen: its exit ends the wait with an error at once. */
  child?: ChildProcess
  /** Name for messages, e.g. "nats-server". */
  label?: string
  /** Output of the process so far, for the error message. */
  log?: () => string
}

export async function waitForPort(port: number, options: WaitForPortOptions = {}): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 50, child, label = 'server', log = () => '' } = options
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${log()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  throw new Error(`${label} did not listen on ${port} within ${timeoutMs} ms: ${log()}`)
}
