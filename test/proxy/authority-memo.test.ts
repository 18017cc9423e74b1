// parseAuthority remembers its last answer and a table of recent ones: whatever order Host values
// come in (valid, invalid, the same name in other cases, over-long), each answer is the one a
// fresh parse gives, and one value's answer never comes back for another.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAuthority } from '../../src/proxy/request-admission.js'

const EXPECTED: Record<string, { host: string; authority: string } | undefined> = {
  'a.com': { host: 'a.com', authority: 'a.com' },
  'A.COM': { host: 'a.com', authority: 'a.com' },
  'a.com.': { host: 'a.com', authority: 'a.com' },
  'a.com:8080': { host: 'a.com', authority: 'a.com:8080' },
  'b.com': { host: 'b.com', authority: 'b.com' },
  '[::1]:80': { host: '[::1]', authority: '[::1]:80' },
  '': { host: '', authority: '' },
  'a.com:99999': undefined,
  'bad host': undefined,
  'user@a.com': undefined,
  'a.com..': undefined,
  [`${'x'.repeat(300)}.com`]: { host: `${'x'.repeat(300)}.com`, authority: `${'x'.repeat(300)}.com` },
  [`${'x'.repeat(300)} bad`]: undefined,
}

test('parseAuthority: the remembered answer is always the asked value’s own, in any order', () => {
  const values = Object.keys(EXPECTED)
  // Every value after every other (and after itself), so each one follows each remembered answer.
  for (const a of values) {
    for (const b of values) {
      for (const v of [a, b, b, a]) {
        // A fresh string each time, as a request's header is: equal text, not the same object.
        const fresh = `${v}!`.slice(0, -1)
        assert.deepEqual(parseAuthority(fresh), EXPECTED[v], `${JSON.stringify(v)} after ${JSON.stringify(a)}`)
      }
    }
  }
})

test('parseAuthority: many distinct values (past the table size) keep their own answers', () => {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 600; i++) {
      const ok = `h${i}.example:${i}`
      assert.deepEqual(parseAuthority(ok), { host: `h${i}.example`, authority: ok })
      assert.equal(parseAuthority(`h${i} .example`), undefined)
    }
  }
})
