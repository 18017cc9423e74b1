// The same pub/sub sessions against our RESP front-end and against redis-server (Debian's, started
// on a loopback port for the test): every reply and push is compared byte for byte. Known
// differences are left out of the scripts on purpose and listed here: HELLO's version field,
// Redis 7.0's order for a RESP3 publish to self (7.2+ answers first, as we do), error texts Redis
// 7.0 words differently from 7.2 (NOPERM), and commands we do not implement. The order of pmessages
// for one publish (one per matching pattern) is Redis dictionary order, random per process, so
// those runs are compared as sets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { freePort, waitForPort } from '../../_lib/net.js'
import { RawResp, command, respBroker } from './_util.js'

const skip = existsSync('/usr/bin/redis-server') ? false : 'redis-server not installed'

/** [client, bytes to send, replies to read from each client afterwards] */
type Step = [number, Buffer | string, number[]]

const c = command

const scripts: Record<string, { clients: number; steps: Step[] }> = {
  'subscribe, publish, unsubscribe (RESP2)': {
    clients: 2,
    steps: [
      [0, c('SUBSCRIBE', 'chan1', 'chan2', 'chan1'), [3, 0]],
      [1, c('PUBLISH', 'chan1', 'hello'), [1, 1]],
      [1, c('PUBLISH', 'chan3', 'nobody'), [0, 1]],
      [0, c('UNSUBSCRIBE', 'chan1', 'nope'), [2, 0]],
      [1, c('PUBLISH', 'chan2', Buffer.from([0, 255, 13, 10])), [1, 1]],
      [0, c('UNSUBSCRIBE', 'chan2'), [1, 0]],
      [0, c('UNSUBSCRIBE'), [1, 0]],
      [0, c('PUNSUBSCRIBE'), [1, 0]],
    ],
  },
  'patterns and channels together (RESP2)': {
    clients: 2,
    steps: [
      [0, c('SUBSCRIBE', 'foo.bar'), [1, 0]],
      [0, c('PSUBSCRIBE', 'foo.*', 'f?o.b[a-z]r', 'x\\*'), [3, 0]],
      [1, c('PUBLISH', 'foo.bar', 'hello'), [3, 1]],
      [1, c('PUBLISH', 'foo.', 'edge'), [1, 1]],
      [1, c('PUBLISH', 'x*', 'star'), [1, 1]],
      [1, c('PUBLISH', 'xy', 'none'), [0, 1]],
      [1, c('PUBSUB', 'NUMPAT'), [0, 1]],
      [1, c('PUBSUB', 'NUMSUB', 'foo.bar', 'foo.baz'), [0, 1]],
      [1, c('PUBSUB', 'CHANNELS', 'foo*'), [0, 1]],
      [0, c('PUNSUBSCRIBE', 'foo.*'), [1, 0]],
      [1, c('PUBLISH', 'foo.bar', 'again'), [2, 1]],
    ],
  },
  'RESP2 subscribed mode: PING shape and refused commands': {
    clients: 1,
    steps: [
      [0, c('SUBSCRIBE', 's'), [1]],
      [0, c('PING'), [1]],
      [0, c('PING', 'msg'), [1]],
      [0, c('GET', 'k'), [1]],
      [0, c('ECHO', 'x'), [1]],
      [0, c('PUBLISH', 's', 'x'), [1]],
      [0, c('PING', 'a', 'b'), [1]],
      [0, c('RESET'), [1]],
      [0, c('PING'), [1]],
    ],
  },
  'RESP3 pushes, nil, and commands while subscribed': {
    clients: 2,
    steps: [
      [0, c('HELLO', '3'), [-1]],
      [0, c('SUBSCRIBE', 'a', 'b'), [2, 0]],
      [0, c('PSUBSCRIBE', 'a*'), [1, 0]],
      [0, c('PING'), [1, 0]],
      [0, c('PING', 'x'), [1, 0]],
      [0, c('ECHO', 'e'), [1, 0]],
      [1, c('PUBLISH', 'a', 'm1'), [2, 1]],
      [0, c('UNSUBSCRIBE', 'zz'), [1, 0]],
      [0, c('PUNSUBSCRIBE', 'a*'), [1, 0]],
      [0, c('UNSUBSCRIBE', 'a', 'b'), [2, 0]],
      [0, c('UNSUBSCRIBE'), [1, 0]],
      [0, c('CLIENT', 'GETNAME'), [1, 0]],
    ],
  },
  'errors and connection commands': {
    clients: 1,
    steps: [
      [0, c('FOO', 'bar', 'baz'), [1]],
      [0, c('foo'), [1]],
      [0, c('PUBLISH', 'x'), [1]],
      [0, c('SUBSCRIBE'), [1]],
      [0, c('CLIENT', 'NOPE'), [1]],
      [0, c('CLIENT', 'SETNAME', 'a b'), [1]],
      [0, c('CLIENT', 'SETNAME', 'abc'), [1]],
      [0, c('CLIENT', 'GETNAME'), [1]],
      [0, c('CLIENT', 'REPLY', 'maybe'), [1]],
      [0, c('HELLO', '4'), [1]],
      [0, c('HELLO', 'x'), [1]],
      [0, c('HELLO', '3', 'BOGUS'), [1]],
      [0, c('AUTH', 'pw'), [1]],
      [0, c('AUTH', 'bob', 'pw'), [1]],
      [0, c('ECHO', ''), [1]],
      [0, c('SELECT', '3'), [1]],
      [0, c('SELECT', '99'), [1]],
      [0, c('PUBSUB', 'NUMSUB'), [1]],
      [0, 'PING\r\necho "in line\\x41"  \'q\'\r\n\r\n*0\r\necho \'it\\\'s\'\r\n', [3]],
      [0, c('QUIT'), [1]],
    ],
  },
  'protocol error: bad multibulk length': { clients: 1, steps: [[0, 'PING\r\n*x\r\n', [2]]] },
  'protocol error: expected $': { clients: 1, steps: [[0, '*1\r\n:1\r\n', [1]]] },
  'protocol error: negative bulk length': { clients: 1, steps: [[0, '*1\r\n$-3\r\n', [1]]] },
  'protocol error: unbalanced quotes': { clients: 1, steps: [[0, 'ECHO "abc\r\n', [1]]] },
}

async function transcript(port: number, script: { clients: number; steps: Step[] }): Promise<string[]> {
  const clients: RawResp[] = []
  for (let i = 0; i < script.clients; i++) clients.push(await RawResp.open(port))
  const out: string[] = []
  try {
    for (const [who, bytes, reads] of script.steps) {
      ;(clients[who] as RawResp).write(bytes)
      for (let i = 0; i < reads.length; i++) {
        const n = reads[i] as number
        // -1: read one reply and keep only its type (HELLO's contents differ by version).
        for (let k = 0; k < Math.abs(n); k++) {
          const raw = (
            await (clients[i] as RawResp).readRaw().catch((err: Error) => {
              throw new Error(`on port ${port}, after ${JSON.stringify(bytes.toString())}: ${err.message}; so far ${JSON.stringify(out)}`)
            })
          ).toString('latin1')
          out.push(`${i}: ${n < 0 ? raw.slice(0, 1) : raw}`)
        }
      }
    }
    // Protocol errors close the connection; nothing else is left unread.
    for (let i = 0; i < clients.length; i++) out.push(`${i}: ${(await (clients[i] as RawResp).quiet(50)) ? 'quiet' : 'more bytes'}`)
  } finally {
    for (const r of clients) r.close()
  }
  return out
}

/**
 * Redis sends one pmessage per matching pattern in the order of its pattern dictionary, which is
 * hashed with a per-process random seed, so that order differs from run to run. Consecutive
 * pmessages to one client are compared as a set; everything else keeps its order.
 */
function normalizePatternOrder(out: string[]): string[] {
  const isPmessage = (line: string): boolean => /^\d+: [*>]4\r\n\$8\r\npmessage\r\n/.test(line)
  const result: string[] = []
  let run: string[] = []
  const flush = (): void => {
    result.push(...run.sort())
    run = []
  }
  for (const line of out) {
    if (isPmessage(line) && (run.length === 0 || (run[0] as string).split(':')[0] === line.split(':')[0])) run.push(line)
    else {
      flush()
      if (isPmessage(line)) run.push(line)
      else result.push(line)
    }
  }
  flush()
  return result
}

test('pmessages to one client are compared as a set, other lines keep their order (negative control)', () => {
  const a = ['0: *4\r\n$8\r\npmessage\r\nb', '0: *4\r\n$8\r\npmessage\r\na', '1: :1\r\n']
  assert.deepEqual(normalizePatternOrder(a), normalizePatternOrder([a[1] as string, a[0] as string, a[2] as string]))
  assert.notDeepEqual(normalizePatternOrder(['0: *3 message', '0: *4\r\n$8\r\npmessage\r\na']), normalizePatternOrder(['0: *4\r\n$8\r\npmessage\r\na', '0: *3 message']))
})

test('the same sessions give the same replies from us and from redis-server', { skip }, async (t) => {
  const port = await freePort()
  const server = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.after(() => server.kill('SIGKILL'))
  await waitForPort(port, { timeoutMs: 5000 })
  const b = await respBroker(t)
  for (const [name, script] of Object.entries(scripts)) {
    await t.test(name, async () => {
      const theirs = await transcript(port, script)
      const ours = await transcript(b.resp!.port, script)
      assert.deepEqual(normalizePatternOrder(ours), normalizePatternOrder(theirs))
    })
  }
})
