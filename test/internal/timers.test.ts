import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CoarseTimerWheel, sweepEvery } from '../../src/internal/timers.js'

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

test('sweepEvery: a throwing check does not stop the others of its period, and its error is rethrown after them', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] })
  const calls: string[] = []
  const stopB = sweepEvery(41, () => {
    calls.push('b')
    throw new Error('a failing check')
  })
  const stopA = sweepEvery(41, () => calls.push('a'))
  assert.throws(() => t.mock.timers.tick(41), /a failing check/, 'the failure is not swallowed')
  assert.deepEqual(calls, ['b', 'a'], 'a ran after b threw')
  stopB()
  stopA()
})

test('sweepEvery: checks of one period share an interval, each runs every period until stopped', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] })
  const calls: string[] = []
  const stopA = sweepEvery(37, () => calls.push('a'))
  const stopB = sweepEvery(37, () => calls.push('b'))
  const stopC = sweepEvery(53, () => calls.push('c'))
  t.mock.timers.tick(36)
  assert.equal(calls.length, 0, 'nothing before one period')
  t.mock.timers.tick(1)
  assert.deepEqual(calls, ['a', 'b'])
  t.mock.timers.tick(16)
  assert.deepEqual(calls, ['a', 'b', 'c'], 'another period has its own interval')
  stopB()
  t.mock.timers.tick(21)
  assert.deepEqual(calls, ['a', 'b', 'c', 'a'], 'b stopped, a still runs')
  stopA()
  stopA() // twice is harmless
  stopC()
  t.mock.timers.tick(200)
  assert.equal(calls.length, 4, 'nothing runs once every check stopped')
  // The same function registered twice runs twice; a restart after a full stop runs again.
  const f = (): void => void calls.push('f')
  const s1 = sweepEvery(37, f)
  const s2 = sweepEvery(37, f)
  t.mock.timers.tick(37)
  assert.deepEqual(calls.slice(4), ['f', 'f'])
  s1()
  t.mock.timers.tick(37)
  assert.deepEqual(calls.slice(4), ['f', 'f', 'f'])
  s2()
})
