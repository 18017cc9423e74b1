import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JobErrorCodes } from '../../src/mapreduce/index.js'
import { compileFn, toFnSpec } from '../../src/mapreduce/closure.js'
import { shout } from './fixtures/helpers.js'

test('an inline function without free variables ships as source and runs', async () => {
  const spec = toFnSpec((x: number) => Math.max(x, 3) * 2)
  assert.equal(spec.kind, 'source')
  const { fn, env } = await compileFn(spec)
  assert.equal(fn(5, env), 10)
})

test('a captured variable is rejected at definition time, naming it and the fix', () => {
  const factor = 3
  assert.throws(
    () => toFnSpec((x: number) => x * factor, { what: 'map' }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, JobErrorCodes.FREE_VARIABLE)
      assert.match(err.message, /"factor"/)
      assert.match(err.message, /env/)
      assert.match(err.message, /shippable/)
      return true
    },
  )
})

test('captured values travel as env, passed as the last argument', async () => {
  const spec = toFnSpec((x: number, env: { factor: number }) => x * env.factor, { env: { factor: 4 } })
  const { fn, env } = await compileFn(spec)
  assert.equal(fn(2, env), 8)
})

test('locals, parameters, destructuring, inner functions, classes and labels are not free variables', async () => {
  const f = ([a, { b }]: [number, { b: number }], ...rest: number[]): number => {
    function inner(y: number): number { return y + 1 }
    class K { v = 2 }
    let total = 0
    outer: for (const r of rest) { if (r < 0) break outer; total += r }
    const o = { total, k: new K().v }
    try { JSON.parse('{') } catch (e) { void e }
    return inner(a) + b + o.total + o.k
  }
  const { fn } = await compileFn(toFnSpec(f))
  assert.equal(fn([1, { b: 2 }], 3, 4), 2 + 2 + 7 + 2)
})

test('method shorthand and standard globals ship', async () => {
  const obj = { twice(x: number) { return x * 2 } }
  assert.equal((await compileFn(toFnSpec(obj.twice))).fn(4), 8)
  assert.equal((await compileFn(toFnSpec(String))).fn(12), '12')
})

test('a function that uses an unknown global is rejected too', () => {
  assert.throws(() => toFnSpec(() => (globalThis as unknown as { x: number }).x + undefinedThing), { code: JobErrorCodes.FREE_VARIABLE })
})
declare const undefinedThing: number

test('module exports marked shippable travel by reference and keep module scope', async () => {
  const spec = toFnSpec(shout)
  assert.equal(spec.kind, 'module')
  const { fn } = await compileFn(spec)
  assert.equal(fn('hi'), 'HI!')
})

test('native and bound functions are refused with a clear code', () => {
  const bound = ((x: number) => x).bind(null)
  assert.throws(() => toFnSpec(bound), { code: JobErrorCodes.FUNCTION_NOT_SHIPPABLE })
})
