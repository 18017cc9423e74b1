// Consumer names the file store must hold (issue #23, item 5): a NUL byte, 251-255 ASCII characters
// or 200 x `é` (400 bytes) got a 500 showing the absolute store path, and the consumer stayed alive
// in memory without being saved, so it vanished on restart. Names are limited to 255 UTF-8 bytes
// (as in nats-server) and checked before anything is created; creation is all or nothing; no error
// shows a file path. Same test against nats-server.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { jsTargets, startJsTarget, type JsTarget } from './_js-targets.js'

const sc = StringCodec()

interface Reply {
  error?: { code: number; err_code: number; description: string }
}

const names: [string, string][] = [
  ['NUL byte', 'a\u0000b'],
  ['control character', 'a\u0001b'],
  ['250 ASCII', 'x'.repeat(250)],
  ['251 ASCII', 'y'.repeat(251)],
  ['255 ASCII', 'z'.repeat(255)],
  ['256 ASCII', 'w'.repeat(256)],
  ['127 x é (254 bytes)', 'é'.repeat(127)],
  ['128 x é (256 bytes)', 'ü'.repeat(128)],
  ['200 x é (400 bytes)', 'ö'.repeat(200)],
]

for (const name of jsTargets) {
  describe(`consumer names (${name})`, () => {
    let target: JsTarget
    let nc: NatsConnection
    const created = new Set<string>()
    const api = async (subject: string, body: unknown): Promise<Reply & Record<string, unknown>> =>
      JSON.parse(sc.decode((await nc.request(`$JS.API.${subject}`, sc.encode(JSON.stringify(body)), { timeout: 5000 })).data)) as Reply & Record<string, unknown>
    const consumerNames = async (): Promise<string[]> => ((await api('CONSUMER.NAMES.N', {}))['consumers'] as string[]).sort()

    before(async () => {
      target = await startJsTarget(name)
      nc = await connect({ port: target.port, reconnect: false })
      await api('STREAM.CREATE.N', { name: 'N', subjects: ['n.>'] })
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    for (const [label, cname] of names) {
      test(`${label}: created and listed, or refused and absent; no file path in the reply`, async () => {
        const r = await api(`CONSUMER.DURABLE.CREATE.N.${cname}`, { stream_name: 'N', config: { durable_name: cname, ack_policy: 'explicit' } })
        const listed = (await consumerNames()).includes(cname)
        if (r.error === undefined) {
          assert.ok(listed)
          created.add(cname)
        } else {
          assert.ok(!listed, `refused (${JSON.stringify(r.error)}) but still there`)
          assert.ok(!r.error.description.includes(target.storeDir) && !r.error.description.includes('/'), r.error.description)
        }
        const bytes = Buffer.byteLength(cname)
        if (bytes > 255) assert.equal(r.error?.err_code, 10102)
        else if (/^[a-zà-ÿ]+$/.test(cname)) assert.equal(r.error, undefined, `${bytes} bytes is a valid name`)
        if (name === 'switchyard' && /[\u0000-\u001f]/.test(cname)) assert.equal(r.error?.code, 400)
      })
    }

    test('what was created survives a restart, nothing else appears', async () => {
      await nc.close()
      await target.restart()
      nc = await connect({ port: target.port, reconnect: false })
      assert.deepEqual(await consumerNames(), [...created].sort())
      for (const c of created) {
        const r = await api(`CONSUMER.DELETE.N.${c}`, {})
        assert.equal(r.error, undefined, JSON.stringify(r.error))
      }
      assert.deepEqual(await consumerNames(), [])
    })
  })
}
