// SIGTERM always ends `switchyard proxy`, also after HTTP/2 streams reset by a protocol error while
// their upstream never answers (issue 22 item 2: "deadline passed: exiting" and the process kept running).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { connect as h2connect } from 'node:http2'
import { mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../_lib/net.js'
import { certFiles } from '../proxy/_tls.js'
import { CLI } from '../_lib/node-args.js'

test('switchyard proxy exits after SIGTERM while an h2 stream waits on a silent upstream', async (t) => {
  const s = createServer(() => {}) // never answers
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    s.close(() => r())
    s.closeAllConnections()
  }))
  const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  const port = await freePort()
  const certs = await certFiles()
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `listeners:\n  - {port: ${port}, address: 127.0.0.1, protocol: https, tls: {certs: [{cert: ${certs.cert}, key: ${certs.key}}]}}\npools:\n  app:\n    servers: [${origin}]\naccessLog: {enabled: false}\n`)
  const child = spawn(process.execPath, [...CLI, 'proxy', '--config', file, '--no-watch'], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const end = Date.now() + 60_000
  while (!/listening on/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  t.after(() => session.destroy())
  const stream = session.request({ ':method': 'GET', ':path': '/' })
  stream.on('error', () => {})
  // Streams node resets for a protocol error (2 bytes after content-length 1): their upstream
  // requests to the silent origin used to stay open forever and hold up pool shutdown.
  for (let i = 0; i < 5; i++) {
    const bad = session.request({ ':method': 'POST', ':path': '/', 'content-length': '1' }, { endStream: false })
    bad.on('error', () => {})
    bad.end('xx')
  }
  await new Promise((r) => setTimeout(r, 500))
  const killedAt = Date.now()
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c))
    setTimeout(() => resolve(-1), 30_000)
  })
  assert.notEqual(code, -1, `still running 30 s after SIGTERM:\n${out}`)
  assert.ok(Date.now() - killedAt < 30_000)
})
