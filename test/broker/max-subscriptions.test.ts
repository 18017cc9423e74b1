// `max_subscriptions` per connection (issue #23, smaller item: there was no limit), against both
// servers: the SUB over the limit gets -ERR 'maximum subscriptions exceeded', the connection stays,
// and after an UNSUB there is room again.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient } from './_raw.js'
import { startTarget, targets } from './_targets.js'

for (const name of targets()) {
  test(`max_subscriptions is enforced per connection (${name})`, async (t) => {
    const target = await startTarget(name, { maxSubscriptions: 3 })
    t.after(() => target.stop())
    const c = await RawClient.open(target.port)
    t.after(() => c.close())
    const ok = await c.step('CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n')
    assert.ok(!ok.includes('-ERR'), ok)
    const over = await c.step('SUB d 4\r\nPING\r\n')
    assert.match(over, /-ERR 'maximum subscriptions exceeded'/)
    assert.ok(!c.closed)
    const again = await c.step('UNSUB 1\r\nSUB e 5\r\nPING\r\n')
    assert.ok(!again.includes('-ERR'), again)
    // Only the accepted subscriptions receive.
    const got = await c.step('PUB d 1\r\nx\r\nPUB e 1\r\ny\r\nPING\r\n')
    assert.ok(!got.includes('MSG d 4'), got)
    assert.match(got, /MSG e 5 1\r\ny\r\n/)
  })
}
