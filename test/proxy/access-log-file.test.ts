// The access-log file the proxy opens itself (accessLog.path): lines land in it; a reload that
// changes the path moves the log (the CLI used to keep writing the old file, and an embedded
// ProxyServer wrote stdout whatever the path said); a reload after a rotation writes a fresh file;
// a path that cannot be opened fails start (ERR_PROXY_ACCESS_LOG) or the reload (and the old file
// keeps logging); a failing write (a full disk: /dev/full) loses lines, is logged, and never stops
// the serving (the CLI's write stream used to crash the proxy with an unhandled ENOSPC).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { silentLogger } from '../../src/internal/logger.js'
import { ProxyServer, resolveProxyConfig, type ProxyConfigInput } from '../../src/proxy/index.js'
import { backend, startProxy, waitFor } from './_helpers.js'

function lines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

test('access-log file: appended, moved by a reload that changes the path, kept by a reload that cannot open the new one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-access-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const b = await backend(t, 'b')
  const first = join(dir, 'first.log')
  const second = join(dir, 'second.log')
  const input = (path: string): ProxyConfigInput => ({ listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, accessLog: { enabled: true, path } })
  const { proxy, url } = await startProxy(t, input(first))
  await (await request(`${url}/one`)).body.text()
  await waitFor(() => lines(first).length === 1, 5000, 'the first line')
  assert.equal(lines(first)[0]?.['path'], '/one')

  await proxy.reload(resolveProxyConfig(input(second)))
  await (await request(`${url}/two`)).body.text()
  await waitFor(() => lines(second).length === 1, 5000, 'a line in the new file')
  assert.equal(lines(second)[0]?.['path'], '/two')
  assert.equal(lines(first).length, 1, 'the old file gets nothing after the reload')

  // Rotation: the file is renamed, and a reload with the same config writes to a fresh one.
  renameSync(second, `${second}.1`)
  await proxy.reload(resolveProxyConfig(input(second)))
  await (await request(`${url}/after-rotation`)).body.text()
  await waitFor(() => lines(second).length === 1, 5000, 'a line in the reopened file')
  assert.equal(lines(second)[0]?.['path'], '/after-rotation')
  assert.deepEqual(lines(`${second}.1`).map((l) => l['path']), ['/two'], 'the rotated file gets nothing after the reload')

  const bad = join(dir, 'no-such-dir', 'x.log')
  await assert.rejects(proxy.reload(resolveProxyConfig(input(bad))), (err: Error & { code?: string }) => err.code === 'ERR_PROXY_RELOAD_FAILED' && /access log/.test(err.message))
  await (await request(`${url}/three`)).body.text()
  await waitFor(() => lines(second).length === 2, 5000, 'the current file still logging after a refused reload')
  assert.equal(lines(second)[1]?.['path'], '/three')
  assert.equal(existsSync(bad), false)
})

test('access-log file: a path that cannot be opened fails start with ERR_PROXY_ACCESS_LOG', async () => {
  const config = resolveProxyConfig({ listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: ['http://127.0.0.1:9'] } }, accessLog: { enabled: true, path: '/nonexistent-dir-sy/access.log' } })
  const proxy = new ProxyServer({ config, shutdownGraceMs: 200, plugins: [] })
  await assert.rejects(proxy.start(), (err: Error & { code?: string }) => err.code === 'ERR_PROXY_ACCESS_LOG')
  assert.deepEqual(proxy.listeners, [], 'nothing left listening')
})

test('access-log file: writes failing with ENOSPC (/dev/full) are logged once, and every request is still answered', { skip: !existsSync('/dev/full') }, async (t) => {
  const b = await backend(t, 'b')
  const logged: Record<string, unknown>[] = []
  const base = silentLogger()
  const spy = Object.assign(Object.create(base) as typeof base, { error: (obj: Record<string, unknown>) => void logged.push(obj) })
  const { url } = await startProxy(t, { listeners: [{ port: 0, address: '127.0.0.1' }], pools: { app: { servers: [b.url] } }, accessLog: { enabled: true, path: '/dev/full' } }, { logger: spy })
  for (let i = 0; i < 50; i++) {
    const r = await request(`${url}/x${i}`)
    assert.equal(r.statusCode, 200)
    await r.body.text()
  }
  await waitFor(() => logged.length > 0, 5000, 'the write failure logged')
  assert.equal(logged.length, 1, 'reported once, not per batch')
  assert.equal(logged[0]?.['code'], 'ERR_PROXY_ACCESS_LOG')
  assert.equal((logged[0]?.['err'] as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC')
  assert.ok(Number(logged[0]?.['lostBytes']) > 0)
})
