// ProducerFlow alone (flow-control.ts): pauses are bounded (2 ms doubling to the cap), end early
// when the subscriber drains, and never outlive a closed client.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProducerFlow, STALL_MAX_MS, STALL_MIN_MS, type StallableClient } from '../../src/broker/flow-control.js'

class Fake implements StallableClient {
  closed = false
  pendingBytes = 0
  paused = false
  pausedAt = 0
  readonly pauses: number[] = []
  constructor(readonly cid: number) {}
  pauseReads(): void {
    this.paused = true
    this.pausedAt = performance.now()
  }
  resumeReads(): void {
    this.paused = false
    this.pauses.push(performance.now() - this.pausedAt)
  }
}

async function whileTrue(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (cond()) {
    if (Date.now() > end) throw new Error('still true')
    await new Promise((r) => setTimeout(r, 1))
  }
}

test('a subscriber that never drains: each pause runs its length, doubling from the minimum to the cap', async () => {
  const flow = new ProducerFlow(1000) // threshold 750
  const pub = new Fake(1)
  const sub = new Fake(2)
  sub.pendingBytes = 900
  const rounds = 10
  for (let i = 0; i < rounds; i++) {
    assert.equal(flow.stall(pub, sub), true)
    assert.equal(flow.isStalled(pub), true)
    assert.equal(flow.targetOf(pub), sub)
    await whileTrue(() => pub.paused)
  }
  assert.equal(pub.pauses.length, rounds)
  const expected = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].map((n) => Math.min(n, STALL_MAX_MS))
  assert.equal(expected[0], STALL_MIN_MS)
  for (let i = 0; i < rounds; i++) {
    // Lower bound exact (timer granularity aside); upper bound generous for a loaded machine.
    assert.ok((pub.pauses[i] as number) >= (expected[i] as number) - 1, `pause ${i}: ${pub.pauses[i]} ms, expected ${expected[i]}`)
    assert.ok((pub.pauses[i] as number) < (expected[i] as number) + 500, `pause ${i}: ${pub.pauses[i]} ms is bounded`)
  }
  assert.equal(flow.stats.stalls, rounds)
  assert.equal(flow.stats.stallTimeouts, rounds)
  // A read without a stall resets the length.
  flow.clear(pub)
  flow.stall(pub, sub)
  await whileTrue(() => pub.paused)
  assert.ok((pub.pauses[rounds] as number) < STALL_MAX_MS + 500)
})

test('a pause ends as soon as the subscriber is under the threshold, or closes, or the publisher closes', async () => {
  const flow = new ProducerFlow(1000)
  const pub = new Fake(1)
  const sub = new Fake(2)
  sub.pendingBytes = 900
  for (let i = 0; i < 5; i++) {
    flow.stall(pub, sub)
    await whileTrue(() => pub.paused)
  }
  // Now at the cap; a drain ends it early.
  flow.stall(pub, sub)
  sub.pendingBytes = 100
  await whileTrue(() => pub.paused)
  assert.equal(flow.stats.stallTimeouts, 5, 'the last pause ended by the drain, not the timer')
  // Under the threshold: no pause at all.
  assert.equal(flow.stall(pub, sub), false)
  sub.pendingBytes = 900
  flow.stall(pub, sub)
  sub.closed = true
  await whileTrue(() => pub.paused)
  sub.closed = false
  flow.stall(pub, sub)
  pub.closed = true
  await whileTrue(() => flow.isStalled(pub))
  assert.equal(pub.paused, true, 'a closed publisher is not resumed')
  assert.equal(flow.stalledCount, 0)
})
