// Queue-group subscribe permissions (`"jobs.* workers"`: subject, one space, queue pattern), as
// nats-server supports them (issue #23, smaller item); they were refused at config load. Raw protocol
// against both servers.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient } from './_raw.js'
import { startTarget, targets, type Target } from './_targets.js'

const users = [{ user: 'w', password: 'p', permissions: { subscribe: { allow: ['jobs.* workers', 'events.>'], deny: ['events.audit spies'] } } }]

for (const name of targets()) {
  describe(`queue permissions (${name})`, () => {
    let target: Target
    before(async () => {
      target = await startTarget(name, { users })
    })
    after(() => target?.stop())

    const cases: [string, boolean][] = [
      ['SUB jobs.a workers 1', true],
      ['SUB jobs.a 2', false],
      ['SUB jobs.a other 3', false],
      ['SUB events.x 4', true],
      ['SUB events.audit q 5', true],
      ['SUB events.audit spies 6', false],
    ]
    for (const [op, ok] of cases) {
      test(`${op}: ${ok ? 'allowed' : 'Permissions Violation'}`, async () => {
        const c = await RawClient.open(target.port)
        try {
          const out = await c.step(`CONNECT {"verbose":false,"user":"w","pass":"p"}\r\n${op}\r\nPING\r\n`)
          assert.equal(out.includes('Permissions Violation for Subscription'), !ok, out)
        } finally {
          c.close()
        }
      })
    }
  })
}
