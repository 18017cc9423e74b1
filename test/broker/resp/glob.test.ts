// Redis globs and the channel <-> subject mapping: unit cases, properties (the mapping round-trips
// and always gives a valid literal subject; a pattern's subject covers every channel its glob
// matches, exactly when it says it is exact), and a differential check of globMatch against
// redis-server itself (KEYS uses the same stringmatchlen as PSUBSCRIBE).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import fc from 'fast-check'
import { channelToSubject, subjectToChannel } from '../../../src/broker/resp/channel.js'
import { globMatch, planPattern } from '../../../src/broker/resp/glob.js'
import { isValidLiteralSubject, subjectMatches } from '../../../src/broker/subject.js'
import { freePort, waitForPort } from '../../_lib/net.js'
import { RawResp } from './_util.js'

const m = (p: string, s: string) => globMatch(Buffer.from(p, 'latin1'), Buffer.from(s, 'latin1'))

test('glob semantics follow Redis stringmatchlen', () => {
  assert.ok(m('*', 'anything.with.dots'))
  assert.ok(!m('*', ''))
  assert.ok(m('foo.*', 'foo.'))
  assert.ok(m('foo.*', 'foo.a.b'))
  assert.ok(!m('foo.*', 'foo1'))
  assert.ok(m('h?llo', 'hello') && !m('h?llo', 'hllo'))
  assert.ok(m('h[ae]llo', 'hallo') && !m('h[ae]llo', 'hillo'))
  assert.ok(m('h[^e]llo', 'hallo') && !m('h[^e]llo', 'hello'))
  assert.ok(m('h[a-b]llo', 'hbllo') && m('h[b-a]llo', 'hbllo') && !m('h[a-b]llo', 'hcllo'))
  assert.ok(m('a\\*b', 'a*b') && !m('a\\*b', 'axb'))
  assert.ok(m('[\\]]', ']') && m('[a\\-z]', '-') && !m('[a\\-z]', 'b'))
  assert.ok(m('a[', 'a') === false && m('ab[c', 'abc'))
  assert.ok(m('**a**', 'xxa'))
  assert.ok(m('a\\', 'a\\'))
  assert.ok(!m('a*'.repeat(600) + 'b', 'a'.repeat(60)))
})

test('channel <-> subject: examples both ways', () => {
  const cases: [Buffer, string][] = [
    [Buffer.from('a.b'), 'a.b'],
    [Buffer.from('user:1'), 'user:1'],
    [Buffer.from('chat room'), 'chat%20room'],
    [Buffer.from('a..b'), 'a.%.b'],
    [Buffer.from(''), '%'],
    [Buffer.from('.'), '%.%'],
    [Buffer.from('a.*.>'), 'a.%2A.%3E'],
    [Buffer.from('a.**'), 'a.**'],
    [Buffer.from('50%'), '50%25'],
    [Buffer.from('ünï'), 'ünï'],
    [Buffer.from([0xff, 0x2e, 0x41]), '%FF.A'],
    [Buffer.from('l\r\n\t\u007f'), 'l%0D%0A%09%7F'],
  ]
  for (const [ch, subject] of cases) {
    assert.equal(channelToSubject(ch), subject)
    assert.ok(subjectToChannel(subject).equals(ch), `back from ${subject}`)
  }
  // A NATS subject that is no escape stays as it is.
  assert.equal(subjectToChannel('100%.x%zz').toString(), '100%.x%zz')
})

test('patterns: the subject each one subscribes to', () => {
  const plan = (p: string) => planPattern(Buffer.from(p))
  assert.deepEqual(plan('news.*'), { subject: 'news.>', exact: true })
  assert.deepEqual(plan('news.sport'), { subject: 'news.sport', exact: true })
  assert.deepEqual(plan('news\\*x'), { subject: 'news*x', exact: true })
  assert.deepEqual(plan('news.sp*'), { subject: 'news.>', exact: false })
  assert.deepEqual(plan('a.b.?'), { subject: 'a.b.>', exact: false })
  assert.deepEqual(plan('news*'), { subject: '>', exact: false })
  assert.deepEqual(plan('*'), { subject: '>', exact: false })
  assert.deepEqual(plan('a..*'), { subject: 'a.%.>', exact: true })
})

const bytes = fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u))
const alphabet = fc.constantFrom(...'ab.*?[]^-\\ '.split(''))
const channelish = fc.array(fc.constantFrom(...'ab.x '.split('')), { maxLength: 10 }).map((a) => Buffer.from(a.join('')))
const patternish = fc.array(alphabet, { maxLength: 8 }).map((a) => Buffer.from(a.join('')))

test('property: the mapping round-trips and gives a valid literal subject', () => {
  fc.assert(
    fc.property(fc.oneof(bytes, channelish), (ch) => {
      const s = channelToSubject(ch)
      assert.ok(isValidLiteralSubject(s), `invalid subject ${JSON.stringify(s)}`)
      assert.ok(subjectToChannel(s).equals(ch))
    }),
    { numRuns: 2000 },
  )
})

test('property: a pattern subject covers every channel its glob matches; exact plans match exactly', () => {
  fc.assert(
    fc.property(patternish, channelish, (p, ch) => {
      const plan = planPattern(p)
      const subj = channelToSubject(ch)
      const g = globMatch(p, ch)
      const s = subjectMatches(plan.subject, subj)
      if (g) assert.ok(s, `glob ${p} matches ${ch} but ${plan.subject} does not cover ${subj}`)
      if (plan.exact) assert.equal(s, g, `exact plan ${plan.subject} for ${p} disagrees on ${ch}`)
    }),
    { numRuns: 5000 },
  )
})

test('differential: globMatch agrees with redis-server on random patterns (KEYS)', { skip: existsSync('/usr/bin/redis-server') ? false : 'redis-server not installed' }, async (t) => {
  const port = await freePort()
  const server = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.after(() => server.kill('SIGKILL'))
  await waitForPort(port, { timeoutMs: 5000 })
  const r = await RawResp.open(port, t)
  r.binary = true
  const keys = fc.sample(channelish, { numRuns: 150, seed: 7 }).filter((k) => k.length > 0)
  const unique = [...new Map(keys.map((k) => [k.toString('latin1'), k])).values()]
  for (const k of unique) r.send('set', k, '1')
  for (let i = 0; i < unique.length; i++) await r.read()
  const patterns = fc.sample(patternish, { numRuns: 200, seed: 11 })
  let nonEmpty = 0
  for (const p of patterns) {
    const got = ((await r.call('keys', p)) as Buffer[]).map((b) => b.toString('latin1')).sort()
    const ours = unique.filter((k) => globMatch(p, k)).map((k) => k.toString('latin1')).sort()
    assert.deepEqual(ours, got, `pattern ${JSON.stringify(p.toString('latin1'))}`)
    if (got.length > 0 && got.length < unique.length) nonEmpty++
  }
  // The sample must discriminate: many patterns that match some keys and not others.
  assert.ok(nonEmpty >= 20, `only ${nonEmpty} discriminating patterns`)
})
