// Smaller findings of issue #24 around authentication: rejected peers are logged with their real
// address, the block server logs its auth failures, short secrets are refused, the UI token is
// random per start and can be rotated, and the bearer scheme is matched case-insensitively.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { createLogger } from '../../../src/internal/logger.js'
import { Coordinator } from '../../../src/mapreduce/cluster/coordinator.js'
import { BlockServer } from '../../../src/mapreduce/cluster/block-server.js'
import { BlockFetcher } from '../../../src/mapreduce/cluster/block-fetcher.js'
import { openConnection } from '../../../src/mapreduce/cluster/handshake.js'
import { encodeFrameConcat } from '../../../src/mapreduce/cluster/wire-frame.js'
import { packr } from '../../../src/mapreduce/cluster/connection.js'
import { resolveCommon } from '../../../src/mapreduce/cluster/options.js'
import { startClusterUi } from '../../../src/mapreduce/cluster/ui-server.js'
import { SECRET, root } from './fixtures/cluster.js'
import { CLI } from '../../_lib/node-args.js'

function capture(): { lines: () => Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const raw: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString().split('\n').filter((l) => l !== ''))
      cb()
    },
  })
  return { lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>), logger: createLogger({ destination: stream, pretty: false }) }
}

async function until<T>(what: string, get: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = get()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const WRONG = 'not-the-secret-but-long-enough'

test('a rejected peer is logged with its real address and the code, not undefined:undefined', async (t) => {
  const log = capture()
  const coordinator = await Coordinator.start({ port: 0, secret: SECRET, logger: log.logger })
  t.after(() => coordinator.close())
  await assert.rejects(openConnection('127.0.0.1', coordinator.port, 'worker', { maxFrameBytes: 1 << 20, timeoutMs: 2000, secret: WRONG }), { code: 'ERR_CLUSTER_AUTH_FAILED' })
  const line = await until('the rejection to be logged', () => log.lines().find((l) => l.msg === 'rejected cluster peer'))
  assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/)
  // A peer that sends something else than the handshake: its socket is destroyed before the log line.
  const sock = connect(coordinator.port, '127.0.0.1')
  sock.on('error', () => {})
  sock.resume()
  const localPort = await new Promise<number | undefined>((r) => sock.once('connect', () => r(sock.localPort)))
  sock.write(encodeFrameConcat(packr.pack({ t: 'run-task', rid: 1 })).subarray(0, 6))
  sock.end(Buffer.alloc(64, 0xff))
  const junk = await until('the junk peer to be logged', () => log.lines().filter((l) => l.msg === 'rejected cluster peer')[1])
  assert.match(String(junk.peer), /^127\.0\.0\.1:\d+$/)
  assert.equal(junk.peer, `127.0.0.1:${localPort}`)
  assert.equal(line.code, 'ERR_CLUSTER_AUTH_FAILED')
})

test('the block server logs and counts fetchers that fail authentication', async (t) => {
  const log = capture()
  const server = await BlockServer.start(resolveCommon({ secret: SECRET }), () => undefined, { host: '127.0.0.1', port: 0 }, log.logger)
  t.after(() => server.close())
  const intruder = new BlockFetcher(resolveCommon({ secret: WRONG }))
  t.after(() => intruder.close())
  await assert.rejects(intruder.fetchBuffer('127.0.0.1', server.port, 'w1', 's/0/0/0/0'), { code: 'ERR_CLUSTER_FETCH_FAILED' })
  const line = await until('the block server to log the failure', () => log.lines().find((l) => l.code === 'ERR_CLUSTER_AUTH_FAILED'))
  assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/)
  assert.equal(server.stats.authFailures, 1)
})

test('a secret under 16 bytes is refused with ERR_CLUSTER_WEAK_SECRET (unless insecure)', () => {
  for (const secret of ['x', 'k', '0123456789abcde', 'é'.repeat(7)]) {
    assert.throws(() => resolveCommon({ secret }), { code: 'ERR_CLUSTER_WEAK_SECRET' }, secret)
  }
  assert.equal(resolveCommon({ secret: '0123456789abcdef' }).secret, '0123456789abcdef')
  assert.equal(resolveCommon({ secret: 'é'.repeat(8) }).secret.length, 8, '16 bytes of UTF-8')
  assert.equal(resolveCommon({ secret: 'x', insecure: true }).secret, 'x')
  assert.throws(() => resolveCommon({}), { code: 'ERR_CLUSTER_OPTIONS' })
})

test('switchyard coordinator --secret x exits 1 naming ERR_CLUSTER_WEAK_SECRET', async () => {
  const child = spawn(process.execPath, [...CLI, 'coordinator', '--port', '0', '--no-ui', '--secret', 'x'], { cwd: root, env: { ...process.env, SWITCHYARD_SECRET: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  // A coordinator that accepted the secret keeps running: give up on it after 30 s.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  clearTimeout(timer)
  assert.equal(code, 1, out)
  assert.match(out, /ERR_CLUSTER_WEAK_SECRET/)
})

test('the UI token is random per start and rotates (the old token and its cookie stop working)', async (t) => {
  const coordinator = await Coordinator.start({ port: 0, secret: SECRET })
  t.after(() => coordinator.close())
  const a = await startClusterUi(coordinator, { port: 0 })
  t.after(() => a.close())
  const b = await startClusterUi(coordinator, { port: 0 })
  t.after(() => b.close())
  assert.notEqual(a.token, b.token, 'same secret, same token: a printed token could never be revoked')
  assert.match(a.token, /^[0-9a-f]{32}$/)
  const status = async (headers: Record<string, string>): Promise<number> => (await fetch(`${a.url}/api/status`, { headers })).status
  const old = a.token
  const fresh = a.rotateToken()
  assert.notEqual(fresh, old)
  assert.equal(a.token, fresh)
  assert.equal(await status({ authorization: `Bearer ${old}` }), 401)
  assert.equal(await status({ cookie: `sy_ui=${old}` }), 401)
  assert.equal(await status({ authorization: `Bearer ${fresh}` }), 200)
})

test('the UI accepts the bearer scheme in any case (RFC 7235), and no other scheme', async (t) => {
  const coordinator = await Coordinator.start({ port: 0, secret: SECRET })
  t.after(() => coordinator.close())
  const ui = await startClusterUi(coordinator, { port: 0 })
  t.after(() => ui.close())
  const status = async (authorization: string): Promise<number> => (await fetch(`${ui.url}/api/status`, { headers: { authorization } })).status
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.equal(await status(`${scheme} ${ui.token}`), 200, scheme)
  assert.equal(await status(`Basic ${ui.token}`), 401)
  assert.equal(await status(`Bearer${ui.token}`), 401)
})
