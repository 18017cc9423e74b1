import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { normalizeTarget } from '../../../src/proxy/protect/path-normalize.js'

const ok = (t: string, opts = {}) => {
  const r = normalizeTarget(t, opts)
  assert.ok(r.ok, `${t}: ${r.ok ? '' : r.reason}`)
  return r.path + r.query
}
const bad = (t: string, opts = {}) => assert.equal(normalizeTarget(t, opts).ok, false, t)

test('dot segments, duplicate slashes and encoded unreserved characters normalise', () => {
  assert.equal(ok('/a/b/../c'), '/a/c')
  assert.equal(ok('/a/./b/.'), '/a/b/')
  assert.equal(ok('//admin'), '/admin')
  assert.equal(ok('/x//y///z'), '/x/y/z')
  assert.equal(ok('/x/%2e%2e/admin'), '/admin')
  assert.equal(ok('/x/%2E%2e/admin'), '/admin')
  assert.equal(ok('/x/.%2e/admin'), '/admin')
  assert.equal(ok('/%61dmin'), '/admin')
  assert.equal(ok('/a%7Eb'), '/a~b')
  assert.equal(ok('/a%20b'), '/a%20b')
  assert.equal(ok('/a%c3%a9'), '/a%C3%A9')
  assert.equal(ok('/a/?q=../../x&y=%2F'), '/a/?q=../../x&y=%2F')
  assert.equal(ok('/'), '/')
  assert.equal(ok('/a/b/..'), '/a/')
  assert.equal(ok('/a/b/%2e'), '/a/b/')
  assert.equal(ok('/100%25'), '/100%25')
})

test('encoded slashes, NUL, escapes above root and bad bytes are refused', () => {
  bad('/a%2fb')
  bad('/a%2Fb')
  bad('/a%5cb')
  bad('/a%00b')
  bad('/../etc/passwd')
  bad('/a/../../etc')
  bad('/%2e%2e/x')
  bad('/a%zz')
  bad('/a%2')
  bad('/a b')
  bad('/a\\b')
  bad('/a\u00e9')
  bad('a/b')
  bad('')
  bad('/a%252e%252e/x')
  bad('/a%252f')
  bad('/q?a b')
  bad('/q?a#b')
  assert.equal(ok('/a%2fb', { encodedSlashes: 'keep' }), '/a%2Fb')
})

test('normalisation is idempotent and never leaves dot segments or empty segments', () => {
  const seg = fc.constantFrom('a', 'b', '.', '..', '', '%2e', '%2E%2e', '%41', 'c%20d', '~')
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 12 }), (segs) => {
      const r = normalizeTarget(`/${segs.join('/')}`)
      if (!r.ok) return true
      const again = normalizeTarget(r.path)
      assert.ok(again.ok)
      assert.equal(again.path, r.path)
      const inner = r.path.split('/').slice(1, -1)
      assert.ok(!inner.includes('.') && !inner.includes('..') && !inner.includes(''), r.path)
      return true
    }),
    { numRuns: 500 },
  )
})

test('the no-decoding shortcut agrees with the full normaliser', () => {
  // Appending "%41" forces the full path (decode, split, resolve) on the same path plus "A".
  const seg = fc.constantFrom('a', 'b', 'x.y', '.hidden', '..x', '~', '-_', "!$&'()*+,;=:@", '', '.', '..')
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 8 }), (segs) => {
      const p = `/${[...segs, 'z'].join('/')}`
      const fast = normalizeTarget(p)
      const full = normalizeTarget(`${p}%41`)
      assert.equal(fast.ok, full.ok)
      if (fast.ok && full.ok) assert.equal(`${fast.path}A`, full.path)
    }),
  )
})
