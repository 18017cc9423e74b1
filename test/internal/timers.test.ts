import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CoarseTimerWheel } from '../../src/internal/timers.js'

test('coarse timers fire after their time, refresh postpones, clear cancels', (t) => {
  // A mocked clock: the real one made this test depend on how fast a loaded machine wakes it.
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 })
  const wheel = new CoarseTimerWheel(10)
  const fired: string[] = []
  wheel.setTimeout(() => fired.push('a'), 30)
  const b = wheel.setTimeout(() => fired.push('b'), 30)
  const c = wheel.setTimeout(() => fired.push('c'), 30)
  c.clear()
  t.mock.timers.tick(20)
  assert.deepEqual(fired, [], 'nothing before its time')
  b.refresh() // b now due at 50
  t.mock.timers.tick(20)
  assert.deepEqual(fired, ['a'], 'a at 30-40; b postponed; c cleared')
  t.mock.timers.tick(9)
  assert.deepEqual(fired, ['a'], 'b not before 50')
  t.mock.timers.tick(11)
  assert.deepEqual(fired, ['a', 'b'], 'b by 60')
  assert.equal(wheel.size, 0)
})

test('a throwing callback does not stop other timers', async () => {
  const wheel = new CoarseTimerWheel(5)
  let ok = false
  wheel.setTimeout(() => {
    throw new Error('x')
  }, 5)
  wheel.setTimeout(() => (ok = true), 5)
  await new Promise((r) => setTimeout(r, 40))
  assert.equal(ok, true)
})
