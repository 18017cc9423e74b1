// `switchyard broker`: flags and YAML map to options; the command serves real clients and stops on SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, StringCodec } from 'nats'
import { brokerOptionsFromArgs } from '../../src/cli/commands/broker.js'
import { parseBrokerConfig } from '../../src/broker/index.js'
import { CLI } from '../_lib/node-args.js'

const root = new URL('../..', import.meta.url).pathname

test('flags map to options and override the config file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-broker-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'broker.yaml')
  writeFileSync(
    file,
    [
      'port: 4333',
      'max_payload: 2MiB',
      'ping_interval: 30s',
      'authorization:',
      '  users:',
      '    - user: a',
      '      password: b',
      '      permissions: { publish: ["x.>"], subscribe: { allow: ["y.>"], deny: ["y.z"] } }',
      'websocket: { port: 0 }',
    ].join('\n'),
  )
  const { options } = brokerOptionsFromArgs(['-c', file, '--port', '5000', '--max-pending', '1MB', '--no-monitor'])
  assert.equal(options.port, 5000)
  assert.equal(options.maxPayloadBytes, 2 * 1024 * 1024)
  assert.equal(options.maxPendingBytes, 1_000_000)
  assert.equal(options.pingIntervalMs, 30_000)
  assert.equal(options.monitorPort, false)
  assert.deepEqual(options.users, [{ user: 'a', password: 'b', permissions: { publish: { allow: ['x.>'] }, subscribe: { allow: ['y.>'], deny: ['y.z'] } } }])
  assert.deepEqual(options.websocket, { port: 0 })
  assert.throws(() => brokerOptionsFromArgs(['--port', 'abc']), (e: { code: string }) => e.code === 'ERR_CLI_USAGE')
  assert.throws(() => brokerOptionsFromArgs(['--bogus']), (e: { code: string }) => e.code === 'ERR_CLI_USAGE')
  assert.throws(() => brokerOptionsFromArgs(['--user', 'x']), (e: { code: string }) => e.code === 'ERR_CLI_USAGE')
})

test('config errors name file:line:col', () => {
  assert.throws(
    () => parseBrokerConfig('port: 4222\nmax_payload: lots\n', 'b.yaml'),
    (e: { code: string; message: string }) => e.code === 'ERR_CONFIG_INVALID' && e.message.includes('b.yaml:2:') && e.message.includes('max_payload'),
  )
  assert.throws(() => parseBrokerConfig('prot: 1\n', 'b.yaml'), (e: { code: string; message: string }) => e.code === 'ERR_CONFIG_INVALID' && e.message.includes('"prot"'))
})

test('switchyard broker serves clients with token auth and exits 0 on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [...CLI, 'broker', '-a', '127.0.0.1', '-p', '0', '-m', '0', '--monitor-host', '127.0.0.1', '--auth', 'tok', '--log-level', 'silent'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let err = ''
  const ready = new Promise<{ port: number; monitor: string }>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
      const m = /nats:\/\/[^:]+:(\d+) monitor (http:\/\/\S+)/.exec(err)
      if (m !== null) resolve({ port: Number(m[1]), monitor: m[2] as string })
    })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)))
  })
  const { port, monitor } = await ready
  const nc = await connect({ servers: `127.0.0.1:${port}`, token: 'tok' })
  const sc = StringCodec()
  const sub = nc.subscribe('cli.test', { max: 1 })
  nc.publish('cli.test', sc.encode('hi'))
  for await (const m of sub) assert.equal(sc.decode(m.data), 'hi')
  const varz = (await (await fetch(`${monitor}/varz`)).json()) as { auth_required: boolean; connections: number }
  assert.equal(varz.auth_required, true)
  assert.equal(varz.connections, 1)
  await nc.close()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
})
