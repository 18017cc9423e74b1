// Bad input on the leafnode port: each case closes only that connection, with a logged code; a
// message for a subject nobody wants is dropped (as on routes) and the link stays. The hub's real
// leaf link and its clients keep working throughout.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect as netConnect, type Socket } from 'node:net'
import { connect, StringCodec } from 'nats'
import { startBroker } from '../../../src/broker/index.js'
import { captureLogs, until } from './_cluster.js'
import { natsServerPath } from '../_targets.js'
import { flowing, natsLeafServer } from './_leaf.js'

const sc = StringCodec()
const CONNECT = `CONNECT ${JSON.stringify({ server_id: 'RAWLEAF', name: 'raw', headers: true })}\r\n`

/** Opens a raw leafnode connection, sends `bytes`, and resolves with what came back once the hub closed it. */
async function rawLeaf(port: number, bytes: string | Buffer): Promise<string> {
  const sock: Socket = netConnect({ host: '127.0.0.1', port })
  let got = ''
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')))
  sock.on('error', () => {})
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  sock.write(bytes)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    sock.destroy()
  }, 5000)
  await closed
  clearTimeout(timer)
  assert.equal(timedOut, false, 'the hub closed the connection')
  return got
}

test('bad leafnode input: each case closes that connection with a code; others are unaffected', async (t) => {
  const logs = captureLogs()
  const hub = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, logger: logs.logger, leafnodes: { port: 0 } })
  t.after(() => hub.close())
  const port = hub.leafs?.port as number
  const spokeNode = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ url: `nats-leaf://127.0.0.1:${port}` }], retryDelayMs: 50 } })
  t.after(() => spokeNode.close())
  await until(() => hub.leafs?.leafs.size === 1, 5000, 'the good leaf link')
  const codes = (): unknown[] => logs.lines.filter((l) => l.msg === 'leafnode closed').map((l) => l.code)
  const count = (code: string): number => codes().filter((c) => c === code).length

  let out = await rawLeaf(port, 'HELLO WORLD\r\n')
  assert.match(out, /^INFO \{.*"leafnode_urls"/)
  assert.match(out, /-ERR 'Unknown Protocol Operation'/)
  await until(() => count('ERR_BROKER_LEAF_PROTOCOL') === 1, 2000, 'the protocol code')

  out = await rawLeaf(port, `CONNECT {"name":"x","pad":"${'x'.repeat(8000)}"}`)
  assert.match(out, /-ERR 'maximum control line exceeded'/)
  await until(() => count('ERR_BROKER_LEAF_MAX_CONTROL_LINE') === 1, 2000, 'the control line code')

  out = await rawLeaf(port, 'LS+ foo\r\n')
  assert.match(out, /-ERR 'Authorization Violation'/)
  await until(() => count('ERR_BROKER_LEAF_AUTH') === 1, 2000, 'interest before CONNECT')

  out = await rawLeaf(port, `CONNECT ${JSON.stringify({ lang: 'nats.js', verbose: false })}\r\n`)
  assert.match(out, /-ERR 'Attempted To Connect To Leafnode Port'/)
  await until(() => count('ERR_BROKER_LEAF_WRONG_PORT') === 1, 2000, 'a client on the leaf port')

  out = await rawLeaf(port, `${CONNECT}LMSG foo.bar abc\r\n`)
  await until(() => count('ERR_BROKER_LEAF_PROTOCOL') === 2, 2000, 'a bad LMSG size')

  out = await rawLeaf(port, `${CONNECT}LMSG big ${2 * 1024 * 1024}\r\n`)
  assert.match(out, /-ERR 'Maximum Payload Violation'/)
  await until(() => count('ERR_BROKER_LEAF_MAX_PAYLOAD') === 1, 2000, 'the max payload code')

  out = await rawLeaf(port, `${CONNECT}LS+ a..b\r\n`)
  assert.match(out, /-ERR 'Invalid Subject'/)
  await until(() => count('ERR_BROKER_LEAF_PROTOCOL') === 3, 2000, 'an invalid subject in LS+')

  // A leaf that sends back the hub's own loop-detection subject closes a loop.
  out = await rawLeaf(port, `${CONNECT}LS+ ${hub.leafs?.loopSubject ?? ''}\r\n`)
  assert.match(out, /-ERR 'Loop detected/)
  await until(() => count('ERR_BROKER_LEAF_LOOP') === 1, 2000, 'the loop code')

  // LMSG for a subject with no interest: dropped, the connection stays (PING still answered).
  const sock = netConnect({ host: '127.0.0.1', port })
  t.after(() => sock.destroy())
  let got = ''
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')))
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  // $JS.*/$SYS.* are never announced on a link; one sent anyway is not delivered here.
  const inProcess: string[] = []
  hub.subscribe('$SYS.probe', {}, (m) => inProcess.push(m.subject))
  hub.subscribe('ok.probe', {}, (m) => inProcess.push(m.subject))
  sock.write(`${CONNECT}LMSG nobody.listens 2\r\nhi\r\nLMSG $SYS.probe 2\r\nhi\r\nLMSG ok.probe 2\r\nhi\r\nPING\r\n`)
  await until(() => got.includes('PONG'), 2000, 'PONG after an LMSG without interest')
  assert.equal(hub.leafs?.leafs.size, 2)
  assert.ok(!got.includes('-ERR'), got)
  assert.deepEqual(inProcess, ['ok.probe'])

  // None of it touched the good link or the clients: both directions still flow.
  const onHub = await connect({ servers: `127.0.0.1:${hub.port}` })
  t.after(() => onHub.close())
  const onSpoke = await connect({ servers: `127.0.0.1:${spokeNode.port}` })
  t.after(() => onSpoke.close())
  const seen: string[] = []
  onHub.subscribe('still.ok', { callback: (_e, m) => seen.push(sc.decode(m.data)) })
  await flowing(onSpoke, onHub)
  onSpoke.publish('still.ok', sc.encode('yes'))
  await until(() => seen.length === 1, 5000, 'spoke to hub still flows')
  await flowing(onHub, onSpoke)
})

test('leafnode authorization: the right password joins, a wrong one is refused with a code on both sides', async (t) => {
  const logs = captureLogs()
  const hub = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, logger: logs.logger, leafnodes: { port: 0, authorization: { user: 'leaf', password: 's3cret' } } })
  t.after(() => hub.close())
  const port = hub.leafs?.port as number
  const good = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ url: `nats-leaf://leaf:s3cret@127.0.0.1:${port}` }], retryDelayMs: 50 } })
  t.after(() => good.close())
  await until(() => hub.leafs?.leafs.size === 1 && good.leafs?.leafs.size === 1, 5000, 'the right password joins')

  const out = await rawLeaf(port, `CONNECT ${JSON.stringify({ name: 'x', user: 'leaf', pass: 'wrong' })}\r\n`)
  assert.match(out, /"auth_required":true/)
  assert.match(out, /-ERR 'Authorization Violation'/)

  const badLogs = captureLogs()
  const bad = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, logger: badLogs.logger, leafnodes: { remotes: [{ url: `nats-leaf://leaf:nope@127.0.0.1:${port}` }], retryDelayMs: 50 } })
  t.after(() => bad.close())
  await until(() => logs.lines.filter((l) => l.code === 'ERR_BROKER_LEAF_AUTH').length >= 3, 5000, 'the hub refused the raw and the bad spoke')
  await until(() => badLogs.lines.some((l) => l.msg === 'leafnode closed' && l.code === 'ERR_BROKER_LEAF_AUTH'), 5000, 'the bad spoke logs the refusal')
  // The spoke counts a link from the hub's INFO until the refusal arrives, and it keeps re-dialling:
  // wait for a moment between attempts rather than sampling once.
  await until(() => bad.leafs?.leafs.size === 0, 5000, 'the bad spoke holds no link')
  assert.equal(hub.leafs?.leafs.size, 1)
})

test('a re-dial from the same server replaces its stale link instead of looping', async (t) => {
  const logs = captureLogs()
  const hub = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, logger: logs.logger, leafnodes: { port: 0 } })
  t.after(() => hub.close())
  const port = hub.leafs?.port as number
  const first = netConnect({ host: '127.0.0.1', port })
  t.after(() => first.destroy())
  first.on('error', () => {})
  first.resume() // read (and drop) the INFO, so the hub's close is seen
  const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()))
  first.write(`${CONNECT}LS+ old.interest\r\n`)
  await until(() => hub.leafs?.leafs.size === 1 && hub.leafs.leafsInterested('old.interest') === 1, 2000, 'the first link')
  const second = netConnect({ host: '127.0.0.1', port })
  t.after(() => second.destroy())
  second.on('error', () => {})
  second.resume()
  second.write(CONNECT)
  await firstClosed
  await until(() => logs.lines.some((l) => l.msg === 'leafnode closed' && l.code === 'ERR_BROKER_LEAF_REPLACED'), 2000, 'the replaced code')
  assert.equal(hub.leafs?.leafs.size, 1)
  assert.equal(hub.leafs?.leafsInterested('old.interest'), 0, 'the stale link took its interest with it')
})

test('leafnode token authorization: a token in the remote URL joins (Switchyard and nats-server spokes), a wrong one does not', async (t) => {
  const logs = captureLogs()
  const hub = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, logger: logs.logger, leafnodes: { port: 0, authorization: { token: 'tok3n' } } })
  t.after(() => hub.close())
  const port = hub.leafs?.port as number
  const good = await startBroker({ host: '127.0.0.1', port: 0, monitorPort: false, leafnodes: { remotes: [{ url: `nats-leaf://tok3n@127.0.0.1:${port}` }], retryDelayMs: 50 } })
  t.after(() => good.close())
  await until(() => hub.leafs?.leafs.size === 1 && good.leafs?.leafs.size === 1, 5000, 'the token joins')
  if (natsServerPath() !== undefined) {
    const ns = await natsLeafServer({ remotes: [`nats-leaf://tok3n@127.0.0.1:${port}`] })
    t.after(() => ns.dispose())
    await until(() => hub.leafs?.leafs.size === 2, 5000, 'nats-server joins with the token')
  }
  const out = await rawLeaf(port, `CONNECT ${JSON.stringify({ name: 'x', auth_token: 'nope' })}\r\n`)
  assert.match(out, /-ERR 'Authorization Violation'/)
  await until(() => logs.lines.some((l) => l.code === 'ERR_BROKER_LEAF_AUTH'), 2000, 'the auth code')
})
