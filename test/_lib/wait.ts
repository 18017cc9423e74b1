// Waiting in tests for a state instead of for a time: waitFor() polls a predicate until it holds
// or a deadline passes, then fails naming what it waited for and the last value it saw.

export interface WaitForOptions {
  /** Give up after this long (ms). Default 10000. */
  readonly timeoutMs?: number
  /** Pause between polls (ms). Default 20. */
  readonly intervalMs?: number
}

/**
 * Polls `probe` until it returns a truthy value (or a promise of one) and returns that value;
 * throws `Timed out after N ms waiting for <what>` when the deadline passes first.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 20
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v as NonNullable<T>
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(v)})`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
