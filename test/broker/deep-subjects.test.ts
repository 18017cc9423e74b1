// Deep subjects (issue #23, item 6): with a raised max_control_line, a subscription of 8,000+ tokens
// and a matching publish overflowed the stack in the subject index (recursion per `*` level): the
// publisher was disconnected with a bogus protocol error, and /subsz?subs=1 answered 500. Matching
// and the monitor's walk are iterative now. Same test against nats-server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient } from './_raw.js'
import { startTarget, targets } from './_targets.js'

const TOKENS = 20_000

for (const name of targets()) {
  test(`a ${TOKENS}-token wildcard subscription matches, and /subsz lists it (${name})`, { timeout: 60_000 }, async (t) => {
    const target = await startTarget(name, { maxControlLineBytes: 1024 * 1024, monitor: true })
    t.after(() => target.stop())
    const stars = Array.from({ length: TOKENS }, () => '*').join('.')
    const literal = Array.from({ length: TOKENS }, (_, i) => `t${i % 10}`).join('.')
    const deepFwc = `${Array.from({ length: TOKENS - 1 }, () => '*').join('.')}.>`
    const sub = await RawClient.open(target.port)
    t.after(() => sub.close())
    await sub.step(`CONNECT {"verbose":false}\r\nSUB ${stars} 1\r\nSUB ${deepFwc} 2\r\nSUB ${literal} 3\r\nPING\r\n`)
    const pub = await RawClient.open(target.port)
    t.after(() => pub.close())
    const out = await pub.step(`CONNECT {"verbose":false}\r\nPUB ${literal} 2\r\nhi\r\nPING\r\n`)
    assert.ok(!pub.closed && !out.includes('-ERR'), `publisher kept: ${out.slice(0, 200)}`)
    await sub.waitFor((o) => (o.match(/\r\nhi\r\n/g) ?? []).length >= 3, 20_000)
    for (const sid of ['1', '2', '3']) assert.ok(sub.out.includes(`MSG ${literal} ${sid} 2\r\nhi\r\n`), `sid ${sid} got the message`)
    const res = await fetch(`${target.monitorUrl}/subsz?subs=1`)
    assert.equal(res.status, 200)
    const body = (await res.json()) as { num_subscriptions: number }
    // nats-server counts its system account's internal subscriptions too.
    assert.ok(body.num_subscriptions >= 3)
  })
}
