// Smaller auth findings of issue #23, raw protocol against both servers: on an auth-required server
// a PONG before CONNECT is an Authorization Violation (it was accepted), and a second CONNECT with
// wrong credentials is checked again.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient } from './_raw.js'
import { startTarget, targets, type Target } from './_targets.js'

for (const name of targets()) {
  describe(`CONNECT and auth (${name})`, () => {
    let target: Target
    before(async () => {
      target = await startTarget(name, { users: [{ user: 'u', password: 'p' }] })
    })
    after(() => target?.stop())

    test('PONG before CONNECT is an Authorization Violation', async () => {
      const c = await RawClient.open(target.port)
      try {
        c.socket.write('PONG\r\n')
        await c.waitFor((o) => o.includes('-ERR'))
        assert.match(c.out, /-ERR 'Authorization Violation'/)
        await c.waitFor(() => c.closed)
      } finally {
        c.close()
      }
    })

    test('a second CONNECT with wrong credentials is refused', async () => {
      const c = await RawClient.open(target.port)
      try {
        const ok = await c.step('CONNECT {"verbose":false,"user":"u","pass":"p"}\r\nPING\r\n')
        assert.match(ok, /PONG/)
        c.socket.write('CONNECT {"verbose":false,"user":"u","pass":"wrong"}\r\nPING\r\n')
        await c.waitFor((o) => o.includes('-ERR') || (o.match(/PONG/g) ?? []).length >= 2)
        assert.match(c.out, /-ERR 'Authorization Violation'/)
      } finally {
        c.close()
      }
    })
  })
}
