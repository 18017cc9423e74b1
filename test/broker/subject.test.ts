// One subject grammar for the whole broker: the client protocol (subject.ts) and JetStream's
// stream subjects and filters (streams/subjects.ts) must agree on every row, and the rows follow
// nats-server 2.9 (server/sublist.go: only a whole `*` or `>` token is a wildcard, `>` only last,
// no empty tokens, no whitespace).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isValidLiteralSubject, isValidSubject, patternCovers, patternsOverlap, subjectMatches } from '../../src/broker/subject.js'
import { hasWildcard, subjectIsSubset, subjectsOverlap, validSubject, matcher } from '../../src/broker/streams/subjects.js'

// subject, valid as a subscription/filter, valid as a literal (publish) subject
const GRAMMAR: [string, boolean, boolean][] = [
  ['a', true, true],
  ['a.b.c', true, true],
  ['a*b', true, true], // a literal token that contains '*'
  ['a>b', true, true],
  ['a.b*.c', true, true],
  ['*', true, false],
  ['>', true, false],
  ['a.*', true, false],
  ['a.>', true, false],
  ['*.>', true, false],
  ['$JS.API.>', true, false],
  ['', false, false],
  ['.', false, false],
  ['a.', false, false],
  ['.a', false, false],
  ['a..b', false, false],
  ['a.>.b', false, false],
  ['>.a', false, false],
  ['a b', false, false],
  ['a\tb', false, false],
  ['a\r\nb', false, false],
]

test('subject grammar: the broker and JetStream agree on every row (nats-server rules)', () => {
  for (const [s, valid, literal] of GRAMMAR) {
    assert.equal(isValidSubject(s), valid, `isValidSubject(${JSON.stringify(s)})`)
    assert.equal(validSubject(s), valid, `validSubject(${JSON.stringify(s)})`)
    assert.equal(isValidLiteralSubject(s), literal, `isValidLiteralSubject(${JSON.stringify(s)})`)
    assert.equal(validSubject(s, false), literal, `validSubject(${JSON.stringify(s)}, false)`)
    if (valid) assert.equal(hasWildcard(s), !literal, `hasWildcard(${JSON.stringify(s)})`)
  }
})

// outer, inner, outer covers inner, the two overlap
const COVER: [string, string, boolean, boolean][] = [
  ['a.>', 'a.*.c', true, true],
  ['a.*', 'a.>', false, true],
  ['>', 'a', true, true],
  ['a.*', 'a.b', true, true],
  ['a.b', 'a.*', false, true],
  ['a.*.c', 'a.b.*', false, true],
  ['a.b', 'a.c', false, false],
  ['a*b', 'a.b', false, false],
  ['*', 'a*b', true, true],
  ['a.*', 'a.*', true, true],
  ['a.>', 'a', false, false],
]

test('covering and overlap: one implementation, JetStream names it subjectIsSubset/subjectsOverlap', () => {
  for (const [outer, inner, covers, overlaps] of COVER) {
    assert.equal(patternCovers(outer, inner), covers, `patternCovers(${outer}, ${inner})`)
    assert.equal(subjectIsSubset(inner, outer), covers, `subjectIsSubset(${inner}, ${outer})`)
    assert.equal(patternsOverlap(outer, inner), overlaps, `patternsOverlap(${outer}, ${inner})`)
    assert.equal(subjectsOverlap(inner, outer), overlaps, `subjectsOverlap(${inner}, ${outer})`)
  }
  // A filter's matcher is subjectMatches (a literal token with '*' matches only itself).
  assert.equal(matcher('a*b')?.('a*b'), true)
  assert.equal(matcher('a*b')?.('axb'), false)
  assert.equal(matcher('a.*')?.('a.b'), subjectMatches('a.*', 'a.b'))
})
