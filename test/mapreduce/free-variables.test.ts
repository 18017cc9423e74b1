// The free-variable check resolves every identifier against the shipped function's own scopes and
// then its module's declarations: a module name shadowing a standard global, `globalThis`, and the
// surroundings' `this` / `arguments` are refused up front naming the line; a name that is only an
// inner parameter or catch variable elsewhere is still free where it is used.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JobErrorCodes } from '../../src/mapreduce/index.js'
import { compileFn, toFnSpec } from '../../src/mapreduce/closure.js'

// Module-level names that shadow standard globals (the reproductions).
const escape = (s: string): string => s.toUpperCase()
const URL = 'https://example.test/'
void escape, void URL

const refused = (fn: unknown, pattern: RegExp): void => {
  assert.throws(() => toFnSpec(fn, { what: 'map' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, JobErrorCodes.FREE_VARIABLE)
    assert.match(err.message, pattern)
    return true
  })
}

test('a module-level name shadowing a standard global is refused, naming the declaration line', () => {
  refused((s: string) => escape(s), /"escape".*free-variables\.test\.ts:11, shadowing the standard global/)
  refused((s: string) => `${URL}${s}`, /"URL".*free-variables\.test\.ts:12/)
})

test('globalThis, and this / arguments of the surroundings, are refused with the line of their use', () => {
  refused((x: number) => (globalThis as unknown as Record<string, number>)['k']! + x, /"globalThis" \(line 1 of the function/)
  const self = { k: 2, make() { return (x: number) => x * this.k } }
  refused(self.make(), /"this"/)
  function outer(this: unknown, ..._a: unknown[]): unknown {
    // eslint-disable-next-line prefer-rest-params
    return (x: number) => {
      const y = x + 1
      return [y, arguments[0]]
    }
  }
  refused(outer(1), /"arguments" of its surroundings \(line \d+ of the function, given at .*free-variables\.test\.ts:\d+\)/)
})

// Plain JavaScript source (tsx renames shadowing inner bindings, which would hide the bug).
const js = (source: string): unknown => (0, eval)(`(${source})`) as unknown

test('a name that is only an inner parameter or catch variable elsewhere is still free where it is used', () => {
  refused(js('(x) => { const f = (factor) => factor; return f(x) * factor }'), /"factor"/)
  refused(js('(x) => {\n  try { JSON.parse(x) } catch (err) { void err }\n  return err\n}'), /"err" from its surroundings \(line 3 of the function/)
  refused(js('(xs) => { for (const i of xs) void i; return xs.map(() => i) }'), /"i"/)
  refused(js('(x) => { { let k = 1 } return k }'), /"k"/)
  refused(js('(x) => {\n  const y = x\n  return () => this.k + y\n}'), /"this" from its surroundings \(line 3 of the function/)
})

test('controls: the function\'s own bindings are accepted and run', async () => {
  const ok = [
    (x: number) => { const escape = 1; return escape + x },
    js('(x) => { if (x > 0) { var y = 1 } return (y ?? 0) + x }'),
    function (this: unknown, x: number) { return [this === undefined, arguments.length, x] },
    (x: number) => { class P { v = 1; get() { return this.v } } return new P().get() + x },
    (x: number) => { const fact = function f(n: number): number { return n <= 1 ? 1 : n * f(n - 1) }; return fact(x) },
    (x: number) => { let s = 0; for (let i = 0; i < x; i++) s += i; return s },
    (x: string) => { try { return JSON.parse(x) as unknown } catch (e) { return String(e).length } },
    (x: number) => { const { a = Math.abs(x), ...rest } = { b: 1 } as { a?: number; b: number }; return a + rest.b },
    js('(x) => { const f = (factor) => factor; const factor = 2; return f(x) * factor }'),
    js('(x) => { let n = 0; try { n = x } catch (err) { n = err } return n }'),
    js('(x) => { switch (x) { case 3: { const q = 1; return q } default: return 0 } }'),
    js('(x) => { let n = 0; for (;;) { if (++n > x) break } for (const k in { a: 1 }) n += k.length; for (n of [x]); return n }'),
  ] as ((x: number) => unknown)[]
  for (const f of ok) {
    const { fn, env } = await compileFn(toFnSpec(f))
    assert.doesNotThrow(() => fn(3, env))
  }
  const { fn } = await compileFn(toFnSpec((x: number) => { const escape = (n: number) => n * 2; return escape(x) }))
  assert.equal(fn(4), 8)
})

test('a name imported from a Node built-in module is the global itself: not refused', async () => {
  const { moduleDeclarations } = await import('../../src/mapreduce/module-scope.js')
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'sy-scope-'))
  try {
    const file = join(dir, 'm.ts')
    writeFileSync(file, "import { Buffer } from 'node:buffer'\nimport { escape as esc, URL } from './x.js'\nconst { a: Map, Set = Date } = {} as Record<string, never>\nexport function JSON() {}\n")
    const d = moduleDeclarations(file)
    assert.ok(d !== null)
    assert.deepEqual([...d.keys()].sort(), ['JSON', 'Map', 'Set', 'URL', 'esc'])
    assert.equal(d.get('URL'), 2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
