// bcrypt off the event loop (issue #23, item 3): 20 concurrent CONNECTs with a wrong password for a
// bcrypt (cost 11) user each blocked the event loop for one hash comparison (compareSync), and a
// logged-in client's round trip rose to seconds. Now comparisons run in worker threads: the other
// client's round trips stay well under one comparison's duration. Same test against nats-server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import bcrypt from 'bcryptjs'
import { connect } from 'nats'
import { RawClient } from './_raw.js'
import { startTarget, targets } from './_targets.js'

const ATTACKERS = 20

for (const name of targets()) {
  test(`wrong bcrypt passwords do not stall other clients (${name})`, { timeout: 120_000 }, async (t) => {
    const hash = await bcrypt.hash('right', 11)
    // One comparison's duration on this machine now (it is loaded: measure, do not assume).
    const t0 = performance.now()
    bcrypt.compareSync('wrong', hash)
    const compareMs = performance.now() - t0

    const target = await startTarget(name, { users: [{ user: 'fast', password: 'f' }, { user: 'slow', password: hash }], authTimeoutMs: 60_000 })
    t.after(() => target.stop())
    const nc = await connect({ port: target.port, user: 'fast', pass: 'f', reconnect: false })
    t.after(() => nc.close())
    // The right password still works (and is checked off the event loop too).
    const good = await connect({ port: target.port, user: 'slow', pass: 'right', reconnect: false, timeout: 30_000 })
    await good.close()

    const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => RawClient.open(target.port)))
    t.after(() => attackers.forEach((a) => a.close()))
    for (const a of attackers) a.socket.write('CONNECT {"verbose":false,"user":"slow","pass":"wrong"}\r\nPING\r\n')

    let maxRtt = 0
    const done = (): boolean => attackers.every((a) => a.closed || a.out.includes('Authorization Violation'))
    for (let i = 0; i < 100_000 && !done(); i++) {
      const s = performance.now()
      await nc.flush()
      maxRtt = Math.max(maxRtt, performance.now() - s)
    }
    for (const a of attackers) await a.waitFor((o) => o.includes('Authorization Violation'), 60_000)
    for (const a of attackers) assert.ok(!a.out.includes('PONG'), 'nothing after a failed CONNECT is processed')
    t.diagnostic(`max round trip ${maxRtt.toFixed(1)} ms, one comparison ${compareMs.toFixed(1)} ms`)
    // Blocking the loop for each comparison in turn gave round trips of many comparisons.
    assert.ok(maxRtt < compareMs * 2, `max round trip ${maxRtt.toFixed(0)} ms during the attack; one bcrypt comparison takes ${compareMs.toFixed(0)} ms`)
  })
}
