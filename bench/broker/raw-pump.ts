// The measured part of the raw-socket fan-out benches (mqtt-fanout.ts, resp-fanout.ts): the
// publisher writes `one` (a complete publish frame) `messages` times in batches, kept within
// `window` messages of the slowest subscriber so the run measures sustained throughput, not
// buffering; then waits up to 15 s for every delivery and closes the sockets. BENCH_CLIENT_CPU=1
// prints the bench process's own CPU (publisher and subscribers) per run: when it nears a whole
// core, the clients, not the server, cap the throughput.
import type { Socket } from 'node:net'

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface PumpCounts {
  /** Deliveries per subscriber, updated by the subscribers' data handlers. */
  readonly received: number[]
  /** All deliveries so far. */
  total(): number
}

export async function pump(pub: Socket, subs: Socket[], one: Buffer, size: number, messages: number, window: number, counts: PumpCounts): Promise<{ ops: number; seconds: number }> {
  const subscribers = subs.length
  const batch = size <= 1024 ? 200 : 50
  const batchBytes = Buffer.concat(Array.from({ length: batch }, () => one))
  const minReceived = (): number => {
    let m = Infinity
    for (const r of counts.received) if (r < m) m = r
    return m
  }
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  let sent = 0
  while (sent < messages) {
    const n = Math.min(batch, messages - sent)
    pub.write(n === batch ? batchBytes : batchBytes.subarray(0, n * one.length))
    sent += n
    const stallStart = performance.now()
    while (sent - minReceived() > window && performance.now() - stallStart < 10_000) await delay(1)
  }
  const deadline = performance.now() + 15_000
  while (counts.total() < messages * subscribers && performance.now() < deadline) await delay(1)
  const seconds = (performance.now() - start) / 1000
  const total = counts.total()
  if (total < messages * subscribers) console.log(`  only ${total} of ${messages * subscribers} deliveries arrived`)
  if (process.env['BENCH_CLIENT_CPU'] === '1') {
    const c = process.cpuUsage(cpu0)
    const s = (c.user + c.system) / 1e6
    console.log(`    clients: ${s.toFixed(2)} s CPU in ${seconds.toFixed(2)} s (${((s / seconds) * 100).toFixed(0)}% of a core; user ${(c.user / 1e6).toFixed(2)}, sys ${(c.system / 1e6).toFixed(2)}), ${((s / total) * 1e6).toFixed(2)} s per 1M deliveries`)
  }
  pub.destroy()
  for (const s of subs) s.destroy()
  await delay(100)
  return { ops: total, seconds }
}
