// The client port's accept backlog is nats-server's 4096, not Node's 511 (issue #23, smaller item:
// 2,000 simultaneous connects took 2.2 s against nats-server's 0.27 s). Linux reports a listening
// socket's backlog as its Send-Q in `ss -ltn` (capped by net.core.somaxconn).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { startBroker } from '../../src/broker/index.js'

const somaxconn = existsSync('/proc/sys/net/core/somaxconn') ? Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')) : 0
const ss = ['/usr/bin/ss', '/bin/ss', '/usr/sbin/ss'].find((p) => existsSync(p))

test('the client listener has a backlog of 4096', { skip: ss === undefined || somaxconn === 0 ? 'needs Linux ss and /proc' : false }, async (t) => {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false })
  t.after(() => broker.close())
  const out = execFileSync(ss as string, ['-ltnH', `sport = :${broker.port}`], { encoding: 'utf8' })
  const sendQ = Number(out.trim().split(/\s+/)[2])
  assert.equal(sendQ, Math.min(4096, somaxconn), out)
})
