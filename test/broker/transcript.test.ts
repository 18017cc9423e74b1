// A scripted raw-socket session replayed against our broker must produce the wire transcript
// recorded from nats-server 2.9 (ids ignored). When nats-server is installed it is replayed live
// too, so the recorded transcript is checked against the reference on every run.
import { describe, test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient, normalizeInfo } from './_raw.js'
import { startTarget, targets, type Target } from './_targets.js'

const SESSION: string[] = [
  'CONNECT {"verbose":true,"pedantic":false,"headers":true,"no_responders":true,"echo":true}\r\nPING\r\n',
  'SUB foo.* 1\r\nSUB foo.> 2\r\nSUB bar q1 3\r\nPING\r\n',
  'PUB foo.x 5\r\nhello\r\nPING\r\n',
  'HPUB foo.h reply.to 24 26\r\nNATS/1.0\r\nK: v\r\nK: w\r\n\r\nhi\r\nPING\r\n',
  'UNSUB 2\r\nPUB foo.y 0\r\n\r\nPING\r\n',
  'PUB foo.deep.er 1\r\nz\r\nPING\r\n',
  'SUB inbox.> 4\r\nPUB nobody inbox.1 0\r\n\r\nPING\r\n',
  'SUB foo.a 8\r\nUNSUB 8 1\r\nPUB foo.a 1\r\n1\r\nPUB foo.a 1\r\n2\r\nPING\r\n',
  'SUB foo..bar 5\r\nPING\r\n',
  'PUB bar 3\r\nabc\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nSUB bar 7\r\nPUB bar 2\r\nhi\r\nPING\r\n',
  'CONNECT {"pedantic":true}\r\nPUB foo.* 1\r\nw\r\nPING\r\n',
  'UNSUB 99\r\nPONG\r\nping\r\n',
  'PUB bar 3\r\nabcde\r\nPING\r\n',
]

/** Sessions that end in a protocol error; each runs on a fresh connection. */
const ERRORS: string[] = [
  'FOO\r\n',
  'PUB foo 2000000\r\n',
  `SUB ${'a'.repeat(5000)} 1\r\n`,
  'PUB foo bar baz qux\r\n',
  'SUB a b c d\r\n',
  'CONNECT {bad json\r\n',
  'CONNECT {"headers":false}\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
  'CONNECT {"headers":false,"no_responders":true}\r\n',
  'MSG foo 1 2\r\nhi\r\n',
]

/** Recorded from nats-server v2.9.10 (INFO reduced to stable fields). */
const EXPECTED: string[] = [
  "INFO {\"proto\":1,\"headers\":true,\"max_payload\":1048576}\r\n",
  "+OK\r\nPONG\r\n",
  "+OK\r\n+OK\r\n+OK\r\nPONG\r\n",
  "+OK\r\nMSG foo.x 2 5\r\nhello\r\nMSG foo.x 1 5\r\nhello\r\nPONG\r\n",
  "+OK\r\nHMSG foo.h 2 reply.to 24 26\r\nNATS/1.0\r\nK: v\r\nK: w\r\n\r\nhi\r\nHMSG foo.h 1 reply.to 24 26\r\nNATS/1.0\r\nK: v\r\nK: w\r\n\r\nhi\r\nPONG\r\n",
  "+OK\r\n+OK\r\nMSG foo.y 1 0\r\n\r\nPONG\r\n",
  "+OK\r\nPONG\r\n",
  "+OK\r\n+OK\r\nHMSG inbox.1 4 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n",
  "+OK\r\n+OK\r\n+OK\r\nMSG foo.a 8 1\r\n1\r\nMSG foo.a 1 1\r\n1\r\n+OK\r\nMSG foo.a 1 1\r\n2\r\nPONG\r\n",
  "-ERR 'Invalid Subject'\r\nPONG\r\n",
  "+OK\r\nMSG bar 3 3\r\nabc\r\nPONG\r\n",
  "MSG bar 7 2\r\nhi\r\nMSG bar 3 2\r\nhi\r\nPONG\r\n",
  "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nw\r\nPONG\r\n",
  "PONG\r\n",
  "-ERR 'Unknown Protocol Operation'\r\n",
]

/** Recorded from nats-server v2.9.10: reply, then whether the server closed. */
const EXPECTED_ERRORS: string[] = [
  "-ERR 'Unknown Protocol Operation'\r\n<closed>",
  "-ERR 'Maximum Payload Violation'\r\n<closed>",
  "-ERR 'maximum control line exceeded'\r\n<closed>",
  "<closed>",
  "<closed>",
  "<closed>",
  "+OK\r\n<closed>",
  "-ERR 'no responders requires headers support'\r\n<closed>",
  "-ERR 'Unknown Protocol Operation'\r\n<closed>",
]

async function record(port: number): Promise<string[]> {
  const c = await RawClient.open(port)
  try {
    await c.waitFor((o) => o.includes('\r\n'))
    const out = [normalizeInfo(c.out)]
    for (const step of SESSION) out.push(await c.step(step))
    return out
  } finally {
    c.close()
  }
}

for (const name of targets()) {
  describe(`wire transcript: ${name}`, () => {
    let t: Target
    before(async () => {
      t = await startTarget(name)
    })
    after(async () => {
      await t.stop()
    })

    test('scripted session matches the nats-server transcript', async () => {
      const got = await record(t.port)
      assert.deepEqual(got, EXPECTED)
    })

    test('bad input gets the same -ERR and the same close as nats-server', async () => {
      const got: string[] = []
      for (const input of ERRORS) {
        const c = await RawClient.open(t.port)
        await c.waitFor((o) => o.includes('\r\n'))
        const info = c.out.length
        c.socket.write(input)
        await c.waitFor(() => false, 3000).catch(() => {})
        got.push(`${c.out.slice(info)}${c.closed ? '<closed>' : '<open>'}`)
        c.close()
      }
      assert.deepEqual(got, EXPECTED_ERRORS)
    })
  })
}

for (const name of targets()) {
  describe(`connection limits: ${name}`, () => {
    test('a client that stops answering PINGs gets -ERR \'Stale Connection\'', async () => {
      const t = await startTarget(name, { pingIntervalMs: 100, maxPingsOut: 2 })
      const c = await RawClient.open(t.port)
      try {
        c.socket.write('CONNECT {"verbose":false}\r\n')
        await c.waitFor(() => false, 8000).catch(() => {})
        assert.equal(c.closed, true)
        assert.equal(normalizeInfo(c.out).replace(/^INFO .*\r\n/, ''), "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n")
      } finally {
        c.close()
        await t.stop()
      }
    })

    test('no CONNECT within the auth timeout gets -ERR \'Authentication Timeout\'', async () => {
      const t = await startTarget(name, { token: 'x', authTimeoutMs: 300 })
      const c = await RawClient.open(t.port)
      try {
        await c.waitFor(() => false, 8000).catch(() => {})
        assert.equal(c.closed, true)
        assert.match(c.out, /-ERR 'Authentication Timeout'\r\n$/)
      } finally {
        c.close()
        await t.stop()
      }
    })

    test('connections over max_connections get -ERR \'maximum connections exceeded\'', async () => {
      // nats-server 2.9 was seen, once, on a heavily loaded machine, to admit the connection over
      // the limit and send nothing for 10 s; the peer gets a second try so that a rare slip of the
      // reference server does not fail CI. Ours gets exactly one.
      const tries = name === 'nats-server' ? 2 : 1
      for (let attempt = 1; ; attempt++) {
        const t = await startTarget(name, { maxConnections: 1 })
        const first = await RawClient.open(t.port)
        try {
          await first.step('CONNECT {"verbose":false}\r\nPING\r\n')
          const second = await RawClient.open(t.port)
          await second.waitFor(() => false, 10_000).catch(() => {})
          if (attempt < tries && !second.closed) {
            second.close()
            continue
          }
          assert.match(second.out, /-ERR 'maximum connections exceeded'\r\n$/)
          assert.equal(second.closed, true, `still open after ${JSON.stringify(second.out)}`)
          assert.equal(await first.step('PING\r\n'), 'PONG\r\n', 'the first connection is unaffected')
          return
        } finally {
          first.close()
          await t.stop()
        }
      }
    })
  })
}
