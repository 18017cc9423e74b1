// Worker restart pacing: the first death restarts at once, deaths in a burst back off
// exponentially up to the cap, and deaths older than the window are forgotten.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RestartBackoff } from '../../src/cli/restart-backoff.js'

test('restart backoff: immediate, then doubling within the window, capped, reset after the window', () => {
  const b = new RestartBackoff({ baseDelayMs: 100, maxDelayMs: 1000, windowMs: 10_000 })
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => b.onDeath(1000 + i)), [0, 100, 200, 400, 800, 1000, 1000])
  assert.equal(b.onDeath(1000 + 20_000), 0, 'a death after a quiet window restarts at once')
})
