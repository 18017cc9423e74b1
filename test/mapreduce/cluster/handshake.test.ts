import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type AddressInfo, type Server } from 'node:net'
import { acceptConnection, openConnection } from '../../../src/mapreduce/cluster/handshake.js'
import { encodeFrameConcat } from '../../../src/mapreduce/cluster/wire-frame.js'
import { packr, type Connection } from '../../../src/mapreduce/cluster/connection.js'

const base = { maxFrameBytes: 1 << 20, timeoutMs: 2000 }

async function server(secret: string, onConn: (c: Connection) => void, failures: Error[] = []): Promise<{ server: Server; port: number }> {
  const s = createServer((sock) => {
    acceptConnection(sock, { ...base, secret }, ['worker']).then(
      (c) => {
        onConn(c)
        c.start()
      },
      (e: Error) => failures.push(e),
    )
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { server: s, port: (s.address() as AddressInfo).port }
}

test('peers with the same secret authenticate and exchange requests both ways', async (t) => {
  const { server: s, port } = await server('s3cret', (c) => {
    c.handle('add', (m) => ({ sum: (m.a as number) + (m.b as number) }))
    c.send({ t: 'early', n: 1 })
  })
  t.after(() => s.close())
  const early: unknown[] = []
  const c = await openConnection('127.0.0.1', port, 'worker', { ...base, secret: 's3cret' })
  t.after(() => c.close())
  c.handle('early', (m) => void early.push(m.n))
  c.start()
  const r = await c.request({ t: 'add', a: 2, b: 40 })
  assert.equal(r.sum, 42)
  assert.deepEqual(early, [1], 'a message sent right after the welcome is held, not lost')
})

test('a wrong secret is rejected and no handler ever runs', async (t) => {
  let ran = 0
  const failures: Error[] = []
  const { server: s, port } = await server('right', (c) => c.handle('run', () => void ran++), failures)
  t.after(() => s.close())
  await assert.rejects(openConnection('127.0.0.1', port, 'worker', { ...base, secret: 'wrong' }), { code: 'ERR_CLUSTER_AUTH_FAILED' })
  assert.equal(ran, 0)
  assert.equal(failures[0] && (failures[0] as { code?: string }).code, 'ERR_CLUSTER_AUTH_FAILED')
})

test('a role the server does not accept is rejected', async (t) => {
  const { server: s, port } = await server('k', () => {})
  t.after(() => s.close())
  await assert.rejects(openConnection('127.0.0.1', port, 'driver', { ...base, secret: 'k' }), { code: 'ERR_CLUSTER_AUTH_FAILED' })
})

test('a client refuses a server that does not know the secret (no code from impostors)', async (t) => {
  // An impostor coordinator: speaks the protocol and says "welcome" with a MAC from the wrong key.
  const { server: s, port } = await server('impostor-key', (c) => c.send({ t: 'run-task', task: 'evil' }))
  t.after(() => s.close())
  // Server rejects us too, but the client must fail on its own check either way.
  await assert.rejects(openConnection('127.0.0.1', port, 'worker', { ...base, secret: 'real-key' }), { code: 'ERR_CLUSTER_AUTH_FAILED' })
})

test('an unauthenticated peer that skips the handshake is disconnected; its message never dispatches', async (t) => {
  let ran = 0
  const failures: Error[] = []
  const { server: s, port } = await server('k', (c) => c.handle('run', () => void ran++), failures)
  t.after(() => s.close())
  const sock = connect(port, '127.0.0.1')
  const closed = new Promise<void>((r) => sock.on('close', () => r()))
  sock.on('error', () => {})
  sock.resume()
  sock.write(encodeFrameConcat(packr.pack({ t: 'run', rid: 1 })))
  await closed
  assert.equal(ran, 0)
  assert.equal(failures.length, 1)
})

test('an oversized frame before authentication is refused (pre-auth limit)', async (t) => {
  const failures: Error[] = []
  const { server: s, port } = await server('k', () => {}, failures)
  t.after(() => s.close())
  const sock = connect(port, '127.0.0.1')
  sock.on('error', () => {})
  sock.resume()
  const closed = new Promise<void>((r) => sock.on('close', () => r()))
  sock.write(encodeFrameConcat(Buffer.alloc(100_000)))
  await closed
  assert.equal((failures[0] as { code?: string } | undefined)?.code, 'ERR_CLUSTER_FRAME_TOO_LARGE')
})

test('a silent peer times out in the handshake', async (t) => {
  const failures: Error[] = []
  const s = createServer((sock) => {
    acceptConnection(sock, { ...base, secret: 'k', timeoutMs: 200 }, ['worker']).catch((e: Error) => failures.push(e))
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => s.close())
  const sock = connect((s.address() as AddressInfo).port, '127.0.0.1')
  sock.on('error', () => {})
  sock.resume()
  await new Promise<void>((r) => sock.on('close', () => r()))
  assert.equal((failures[0] as { code?: string } | undefined)?.code, 'ERR_CLUSTER_HANDSHAKE_TIMEOUT')
})

test('messages carry strings with lone UTF-16 surrogates unchanged (task results are user data)', async (t) => {
  const { server: s, port } = await server('k', (c) => c.handle('echo', (m) => ({ v: m.v })))
  t.after(() => s.close())
  const c = await openConnection('127.0.0.1', port, 'worker', { ...base, secret: 'k' })
  t.after(() => c.close())
  c.start()
  const v = ['\ud800', { ['key\udfff']: ['x\udbffy', 1] }, 'ok 😀']
  assert.deepEqual((await c.request({ t: 'echo', v })).v, v)
})
