import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CoarseTimerWheel } from '../../src/internal/timers.js'

test('coarse timers fire after their time, refresh postpones, clear cancels', async () => {
  const wheel = new CoarseTimerWheel(10)
  const fired: string[] = []
  const start = Date.now()
  wheel.setTimeout(() => fired.push('a'), 30)
  const b = wheel.setTimeout(() => fired.push('b'), 30)
  const c = wheel.setTimeout(() => fired.push('c'), 30)
  c.clear()
  await new Promise((r) => setTimeout(r, 20))
  b.refresh()
  await new Promise((r) => setTimeout(r, 30))
  assert.deepEqual(fired, ['a'])
  assert.ok(Date.now() - start >= 30)
  await new Promise((r) => setTimeout(r, 40))
  assert.deepEqual(fired, ['a', 'b'])
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
