// NATS conformance suite written with the stock `nats` client. The same tests run against our
// broker and against Debian's nats-server, which proves they describe real NATS behaviour. The
// messaging cases live in _messaging-cases.ts (cluster/conformance.test.ts runs them across nodes).
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'
import { generate } from 'selfsigned'
import { connect, StringCodec, ErrorCode, Events, type NatsConnection, type NatsError, type Msg } from 'nats'
import { startTarget, targets, freePort, type Target, type TargetName } from './_targets.js'
import { wsConnect } from './_ws-transport.js'
import { messagingCases } from './_messaging-cases.js'

const sc = StringCodec()
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function collect(sub: AsyncIterable<Msg>, into: Msg[]): Promise<void> {
  for await (const m of sub) into.push(m)
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition')
    await delay(10)
  }
}

for (const name of targets()) {
  describe(`conformance: ${name}`, () => {
    let t: Target
    const conns: NatsConnection[] = []
    const nc = async (extra: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> => {
      const c = await connect({ servers: `127.0.0.1:${t.port}`, ...extra })
      conns.push(c)
      return c
    }

    before(async () => {
      t = await startTarget(name, { monitor: true })
    })
    after(async () => {
      for (const c of conns) await c.close().catch(() => {})
      await t.stop()
    })

    test('INFO carries version, headers, max_payload, proto, ids', async () => {
      const c = await nc()
      const info = c.info
      assert.ok(info !== undefined)
      assert.match(info.version, /^\d+\.\d+\.\d+/)
      assert.equal(info.headers, true)
      assert.equal(info.proto, 1)
      assert.equal(typeof info.max_payload, 'number')
      assert.equal(typeof info.server_id, 'string')
      assert.equal(typeof info.client_id, 'number')
    })

    messagingCases(() => ({ pub: nc, sub: nc, settle: async () => {} }))

    test('reconnect after a broker restart on the same port', async () => {
      const port = await freePort()
      let t2 = await startTarget(name, { port })
      try {
        const c = await connect({ servers: `127.0.0.1:${port}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 })
        conns.push(c)
        const got: Msg[] = []
        void collect(c.subscribe('after.restart'), got)
        await c.flush()
        let reconnected = false
        void (async () => {
          for await (const s of c.status()) if (s.type === Events.Reconnect) reconnected = true
        })()
        await t2.stop()
        t2 = await startTarget(name, { port })
        await until(() => reconnected, 5000)
        await c.flush()
        const pub = await connect({ servers: `127.0.0.1:${port}` })
        pub.publish('after.restart', sc.encode('hi'))
        await pub.flush()
        await until(() => got.length === 1)
        await pub.close()
      } finally {
        await t2.stop()
      }
    })

    test('monitoring: /varz, /connz and /subsz carry the nats-server field names', async () => {
      const c = await nc({ name: 'monitored' })
      c.subscribe('mon.x')
      c.publish('mon.x', sc.encode('1'))
      await c.flush()
      const varz = (await (await fetch(`${t.monitorUrl}/varz`)).json()) as Record<string, unknown>
      for (const k of ['server_id', 'version', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'connections', 'slow_consumers', 'subscriptions', 'mem', 'cpu', 'max_payload', 'uptime']) {
        assert.ok(k in varz, `varz.${k}`)
      }
      assert.ok((varz.in_msgs as number) >= 1)
      const connz = (await (await fetch(`${t.monitorUrl}/connz?subs=1`)).json()) as { num_connections: number; connections: { name?: string; subscriptions_list?: string[]; in_msgs: number }[] }
      assert.ok(connz.num_connections >= 1)
      const mine = connz.connections.find((x) => x.name === 'monitored')
      assert.ok(mine !== undefined)
      assert.ok(mine.subscriptions_list?.includes('mon.x'))
      const subsz = (await (await fetch(`${t.monitorUrl}/subsz`)).json()) as Record<string, unknown>
      for (const k of ['num_subscriptions', 'num_cache', 'num_inserts', 'num_removes', 'num_matches']) assert.ok(k in subsz, `subsz.${k}`)
      const health = await fetch(`${t.monitorUrl}/healthz`)
      assert.equal(health.status, 200)
    })
  })

  describe(`auth and permissions: ${name}`, () => {
    let tok: Target
    let users: Target
    const conns: NatsConnection[] = []
    before(async () => {
      tok = await startTarget(name, { token: 's3cret' })
      users = await startTarget(name, {
        users: [
          { user: 'plain', password: 'pw' },
          { user: 'hashed', password: bcrypt.hashSync('hunter2', 4) },
          {
            user: 'limited',
            password: 'pw',
            permissions: {
              publish: { allow: ['pub.>'], deny: ['pub.secret'] },
              subscribe: { allow: ['sub.>', '_INBOX.>'], deny: ['sub.secret'] },
            },
          },
        ],
      })
    })
    after(async () => {
      for (const c of conns) await c.close().catch(() => {})
      await tok.stop()
      await users.stop()
    })

    test('token auth: right token connects, wrong token is an authorization violation', async () => {
      const c = await connect({ servers: `127.0.0.1:${tok.port}`, token: 's3cret' })
      conns.push(c)
      await c.flush()
      await assert.rejects(connect({ servers: `127.0.0.1:${tok.port}`, token: 'nope', maxReconnectAttempts: 0 }), (e: NatsError) => e.code === ErrorCode.AuthorizationViolation)
      await assert.rejects(connect({ servers: `127.0.0.1:${tok.port}`, maxReconnectAttempts: 0 }), (e: NatsError) => e.code === ErrorCode.AuthorizationViolation)
    })

    test('user/password auth, plain and bcrypt', async () => {
      const a = await connect({ servers: `127.0.0.1:${users.port}`, user: 'plain', pass: 'pw' })
      const b = await connect({ servers: `127.0.0.1:${users.port}`, user: 'hashed', pass: 'hunter2' })
      conns.push(a, b)
      await a.flush()
      await b.flush()
      await assert.rejects(connect({ servers: `127.0.0.1:${users.port}`, user: 'hashed', pass: 'wrong', maxReconnectAttempts: 0 }), (e: NatsError) => e.code === ErrorCode.AuthorizationViolation)
    })

    test('permissions: violations are reported and the connection stays open', async () => {
      const c = await connect({ servers: `127.0.0.1:${users.port}`, user: 'limited', pass: 'pw' })
      const watcher = await connect({ servers: `127.0.0.1:${users.port}`, user: 'plain', pass: 'pw' })
      conns.push(c, watcher)
      const errors: string[] = []
      void (async () => {
        for await (const s of c.status()) if (s.type === Events.Error) errors.push(String(s.data))
      })()
      const seen: Msg[] = []
      void collect(watcher.subscribe('pub.>'), seen)
      await watcher.flush()
      c.publish('pub.ok', sc.encode('1'))
      c.publish('pub.secret', sc.encode('2'))
      c.publish('other', sc.encode('3'))
      await c.flush()
      await until(() => errors.length >= 2)
      assert.deepEqual(errors.slice(0, 2), [ErrorCode.PermissionsViolation, ErrorCode.PermissionsViolation])
      // Denied subscription: the subscription ends with a permissions error.
      const denied = c.subscribe('sub.secret')
      await assert.rejects(
        (async () => {
          for await (const _ of denied) break
        })(),
        (e: NatsError) => e.code === ErrorCode.PermissionsViolation,
      )
      const ok: Msg[] = []
      void collect(c.subscribe('sub.fine'), ok)
      await c.flush()
      watcher.publish('sub.fine', sc.encode('x'))
      await watcher.flush()
      await until(() => ok.length === 1)
      assert.equal(c.isClosed(), false)
      assert.deepEqual(seen.map((m) => m.subject), ['pub.ok'])
    })
  })

  describe(`TLS and WebSocket: ${name}`, () => {
    let dir: string
    let tlsT: Target
    let wsT: Target
    let ca: string
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sy-tls-'))
      const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
        keySize: 2048,
        algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
      } as Parameters<typeof generate>[1])
      ca = pems.cert
      writeFileSync(join(dir, 'cert.pem'), pems.cert)
      writeFileSync(join(dir, 'key.pem'), pems.private)
      tlsT = await startTarget(name, { tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), cert: pems.cert, key: pems.private } })
      wsT = await startTarget(name, { websocket: true })
    })
    after(async () => {
      await tlsT.stop()
      await wsT.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    test('TLS client port: tls_required in INFO, pub/sub over TLS', async () => {
      const c = await connect({ servers: `127.0.0.1:${tlsT.port}`, tls: { ca } })
      try {
        assert.equal(c.info?.tls_required, true)
        const got: Msg[] = []
        void collect(c.subscribe('secure'), got)
        c.publish('secure', sc.encode('s'))
        await c.flush()
        await until(() => got.length === 1)
      } finally {
        await c.close()
      }
    })

    test('WebSocket client speaks the same protocol in binary frames and meets TCP clients', async () => {
      const w = await wsConnect({ servers: `127.0.0.1:${wsT.wsPort}` })
      const tcp = await connect({ servers: `127.0.0.1:${wsT.port}` })
      try {
        const got: Msg[] = []
        void collect(w.subscribe('ws.>'), got)
        await w.flush()
        tcp.publish('ws.hello', sc.encode('from tcp'))
        await tcp.flush()
        await until(() => got.length === 1)
        assert.equal(sc.decode(got[0]!.data), 'from tcp')
        const r = tcp.subscribe('ws.reply', { callback: (_e, m) => m.respond(sc.encode('pong')) })
        await tcp.flush()
        const reply = await w.request('ws.reply', sc.encode('ping'), { timeout: 2000 })
        assert.equal(sc.decode(reply.data), 'pong')
        r.unsubscribe()
      } finally {
        await w.close()
        await tcp.close()
      }
    })
  })
}

export type { TargetName }
