// The measured part of the raw-socket fan-out benches (mqtt-fanout.ts, resp-fanout.ts): the
// publisher writes `one` (a complete publish frame) `messages` times in batches, kept within
// `window` messages of the slowest subscriber so the run measures sustained throughput, not
// buffering; then waits up to 15 s for every delivery and closes the sockets. BENCH_CLIENT_CPU=1
// prints the bench process's own CPU (publisher and subscribers) per run: when it nears a whole
// core, the clients, not the server, cap the throughput.
import type { Socket } from 'node:net'

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Deliveries per subscriber, counted by the subscribers' read callbacks (`hit`). A waiting
 * publisher is woken from those callbacks as soon as its window opens, not by a timer: a 1 ms
 * polling timer left the fastest server idle for up to a millisecond per window (11% of its
 * profile at 1->10 4 KiB), so the bench measured the timer instead of the server.
 */
export class Tally {
  readonly received: number[]
  total = 0
  #wake: (() => void) | null = null
  #need = 0

  constructor(subscribers: number) {
    this.received = new Array<number>(subscribers).fill(0)
  }

  hit(i: number): void {
    const r = (this.received[i] as number) + 1
    this.received[i] = r
    this.total++
    // Each subscriber reaches the awaited count once: only then is the minimum worth a pass.
    if (r === this.#need && this.#wake !== null && this.min() >= this.#need) this.#fire()
  }

  min(): number {
    let m = Infinity
    for (const r of this.received) if (r < m) m = r
    return m
  }

  /** Resolves when every subscriber has at least `need` deliveries, or after `ms`. */
  waitFor(need: number, ms: number): Promise<void> {
    if (this.min() >= need) return Promise.resolve()
    this.#need = need
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#fire(), ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  #fire(): void {
    const w = this.#wake
    this.#wake = null
    this.#need = 0
    w?.()
  }
}

export async function pump(pub: Socket, subs: Socket[], one: Buffer, size: number, messages: number, window: number, counts: Tally): Promise<{ ops: number; seconds: number }> {
  const batch = size <= 1024 ? 200 : 50
  const batchBytes = Buffer.concat(Array.from({ length: batch }, () => one))
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  let sent = 0
  while (sent < messages) {
    const n = Math.min(batch, messages - sent)
    pub.write(n === batch ? batchBytes : batchBytes.subarray(0, n * one.length))
    sent += n
    const stallStart = performance.now()
    while (sent - counts.min() > window && performance.now() - stallStart < 10_000) await counts.waitFor(sent - window, 10)
  }
  const deadline = performance.now() + 15_000
  while (counts.min() < messages && performance.now() < deadline) await counts.waitFor(messages, 10)
  const seconds = (performance.now() - start) / 1000
  const total = counts.total
  if (total < messages * subs.length) console.log(`  only ${total} of ${messages * subs.length} deliveries arrived`)
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
