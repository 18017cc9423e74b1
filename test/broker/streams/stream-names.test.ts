// Stream names the file store must hold (issue #23, item 5, the rest of the class: the item named
// consumers; stream names become directory names the same way). A name is created and listed, or
// refused and absent; no reply shows a file path; what was created survives a restart and can be
// deleted; names over 255 UTF-8 bytes are refused. Same test against nats-server.
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
  ['a dot', 'a.b'],
  ['250 ASCII', 'X'.repeat(250)],
  ['251 ASCII', 'Y'.repeat(251)],
  ['255 ASCII', 'Z'.repeat(255)],
  ['256 ASCII', 'W'.repeat(256)],
  ['127 x é (254 bytes)', 'é'.repeat(127)],
  ['128 x ü (256 bytes)', 'ü'.repeat(128)],
]

for (const name of jsTargets) {
  describe(`stream names (${name})`, () => {
    let target: JsTarget
    let nc: NatsConnection
    const created = new Set<string>()
    const api = async (subject: string, body: unknown): Promise<Reply & Record<string, unknown>> =>
      JSON.parse(sc.decode((await nc.request(`$JS.API.${subject}`, sc.encode(JSON.stringify(body)), { timeout: 5000 })).data)) as Reply & Record<string, unknown>
    const streamNames = async (): Promise<string[]> => (((await api('STREAM.NAMES', {}))['streams'] as string[] | null) ?? []).sort()

    before(async () => {
      target = await startJsTarget(name)
      nc = await connect({ port: target.port, reconnect: false })
    })
    after(async () => {
      await nc?.close()
      await target?.stop()
    })

    names.forEach(([label, sname], i) => {
      test(`${label}: created and listed, or refused and absent; no file path in the reply`, async () => {
        // The name in the subject is the one in the body; a dot there would change the subject, so
        // such names travel in the body only (nats-server compares both).
        const inSubject = sname.includes('.') ? 'DOTTED' : sname
        const r = await api(`STREAM.CREATE.${inSubject}`, { name: sname, subjects: [`n${i}.>`], storage: 'file' })
        const listed = (await streamNames()).includes(sname)
        if (r.error === undefined) {
          assert.ok(listed)
          created.add(sname)
        } else {
          assert.ok(!listed, `refused (${JSON.stringify(r.error)}) but still there`)
          assert.ok(!r.error.description.includes(target.storeDir) && !r.error.description.includes('/'), r.error.description)
        }
        if (Buffer.byteLength(sname) > 255) assert.notEqual(r.error, undefined, 'over 255 bytes must be refused')
        else if (/^[A-Zà-ÿ]+$/.test(sname)) assert.equal(r.error, undefined, `${Buffer.byteLength(sname)} bytes is a valid name`)
        if (sname.includes('.')) assert.notEqual(r.error, undefined, 'a dot is refused')
        if (name === 'switchyard' && /[\u0000-\u001f]/.test(sname)) assert.equal(r.error?.code, 400)
      })
    })

    test('what was created survives a restart, keeps its messages, and can be deleted', async () => {
      // A plain request, not js.publish: nats-server 2.9 writes a control character in a stream name
      // into its PubAck unescaped (`"a\x01b"`), which is not JSON.
      for (const [i, [, sname]] of names.entries()) if (created.has(sname)) await nc.request(`n${i}.m`, sc.encode(sname), { timeout: 5000 })
      await nc.close()
      await target.restart()
      nc = await connect({ port: target.port, reconnect: false })
      assert.deepEqual(await streamNames(), [...created].sort())
      for (const s of created) {
        const info = await api(`STREAM.INFO.${s}`, {})
        assert.equal((info['state'] as { messages: number }).messages, 1, s)
        const r = await api(`STREAM.DELETE.${s}`, {})
        assert.equal(r.error, undefined, JSON.stringify(r.error))
      }
      assert.deepEqual(await streamNames(), [])
    })
  })
}
