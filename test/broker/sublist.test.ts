import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Sublist } from '../../src/broker/sublist.js'
import { subjectMatches } from '../../src/broker/subject.js'

interface S {
  subject: string
  queue: string | undefined
  id: number
}
let next = 0
const sub = (subject: string, queue?: string): S => ({ subject, queue, id: next++ })
const ids = (xs: S[]): string[] => xs.map((x) => x.subject).sort()

test('wildcards: * is one token, > one or more trailing tokens', () => {
  const sl = new Sublist<S>()
  for (const s of ['a.b.c', 'a.*.c', 'a.>', '*.b.c', '>', 'a.b', 'a.*']) sl.insert(sub(s))
  assert.deepEqual(ids(sl.match('a.b.c').psubs), ['*.b.c', '>', 'a.*.c', 'a.>', 'a.b.c'])
  assert.deepEqual(ids(sl.match('a.b').psubs), ['>', 'a.*', 'a.>', 'a.b'])
  assert.deepEqual(ids(sl.match('a').psubs), ['>'])
  assert.deepEqual(ids(sl.match('a..b').psubs), [], 'invalid subjects match nothing')
})

test('queue subscriptions are grouped by name', () => {
  const sl = new Sublist<S>()
  sl.insert(sub('q', 'g1'))
  sl.insert(sub('q', 'g1'))
  sl.insert(sub('*', 'g2'))
  sl.insert(sub('q'))
  const r = sl.match('q')
  assert.equal(r.psubs.length, 1)
  assert.deepEqual(r.qsubs.map((g) => g.length).sort(), [1, 2])
})

test('the match cache is invalidated by SUB and UNSUB', () => {
  const sl = new Sublist<S>()
  const a = sub('x.y')
  sl.insert(a)
  assert.equal(sl.match('x.y').psubs.length, 1)
  const w = sub('x.*')
  sl.insert(w)
  assert.equal(sl.match('x.y').psubs.length, 2, 'wildcard insert invalidates cached literal')
  assert.ok(sl.remove(w))
  assert.equal(sl.match('x.y').psubs.length, 1)
  assert.ok(sl.remove(a))
  assert.equal(sl.match('x.y').psubs.length, 0)
  assert.equal(sl.remove(a), false, 'double remove is a no-op')
  assert.equal(sl.count, 0)
  assert.ok(sl.stats().cache_hit_rate >= 0)
})

test('property: index agrees with the brute-force matcher', () => {
  const tok = fc.constantFrom('a', 'b', 'c')
  const pattern = fc.array(fc.oneof(tok, fc.constant('*')), { minLength: 1, maxLength: 3 }).chain((t) =>
    fc.boolean().map((gt) => (gt ? [...t.slice(0, -1), '>'] : t).join('.')),
  )
  const literal = fc.array(tok, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'))
  fc.assert(
    fc.property(fc.array(pattern, { maxLength: 12 }), fc.array(literal, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 5 }), (patterns, subjects, removals) => {
      const sl = new Sublist<S>()
      const subs = patterns.map((p) => sub(p))
      for (const s of subs) sl.insert(s)
      for (const subject of subjects) sl.match(subject) // warm the cache before removals
      const live = new Set(subs)
      for (const r of removals) {
        const s = subs[r % Math.max(1, subs.length)]
        if (s !== undefined && live.delete(s)) sl.remove(s)
      }
      for (const subject of subjects) {
        const want = [...live].filter((s) => subjectMatches(s.subject, subject))
        assert.deepEqual(ids(sl.match(subject).psubs), ids(want), subject)
      }
    }),
    { numRuns: 300 },
  )
})
