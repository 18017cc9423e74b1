import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCacheControl, deltaSeconds } from '../../../src/proxy/cache/cache-control.js'
import { currentAge } from '../../../src/proxy/cache/freshness.js'
import { HttpCache } from '../../../src/proxy/cache/http-cache.js'
import { CacheStore } from '../../../src/proxy/cache/store.js'

test('Cache-Control parsing: case, quotes with commas, duplicates, delta-seconds', () => {
  const cc = parseCacheControl('Max-Age=60, private="set-cookie, x", no-cache, s-maxage = 5')
  assert.equal(cc.get('max-age'), '60')
  assert.equal(cc.get('private'), 'set-cookie, x')
  assert.equal(cc.get('no-cache'), true)
  // RFC 9111 §5.2: no whitespace around "=" in a directive; `s-maxage = 5` is not one.
  assert.equal(cc.get('s-maxage'), undefined)
  assert.equal(parseCacheControl(['max-age=1', 'max-age=2']).get('max-age'), 'invalid')
  assert.equal(deltaSeconds('10'), 10)
  assert.equal(deltaSeconds('-1'), -1)
  assert.equal(deltaSeconds('1.5'), -1)
  assert.equal(deltaSeconds('99999999999'), 2_147_483_648)
})

test('current age (RFC 9111 §4.2.3) takes the larger of apparent age and corrected Age', () => {
  const t = { requestTime: 1_000_000, responseTime: 1_002_000 }
  // Date 10 s before the response arrived: apparent age 10.
  assert.equal(currentAge({ date: new Date(992_000).toUTCString() }, t, 1_002_000), 10)
  // Age 5 + 2 s response delay = 7 > apparent 0.
  assert.equal(currentAge({ date: new Date(1_002_000).toUTCString(), age: '5' }, t, 1_002_000), 7)
  // Resident time adds.
  assert.equal(currentAge({ date: new Date(1_002_000).toUTCString() }, t, 1_012_000), 12)
})

test('memory tier is bounded by bytes (LRU); disk tier survives a restart; torn files are dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cache-'))
  try {
    const req = (path: string) => ({ method: 'GET', key: `http://a.test${path}`, headers: { host: 'a.test' } })
    const small = new HttpCache({ store: new CacheStore({ maxMemoryBytes: 10_000 }), maxObjectBytes: 1_000_000 })
    const now = Date.now()
    for (let i = 0; i < 10; i++) small.put(req(`/${i}`), 200, { 'cache-control': 'max-age=60' }, Buffer.alloc(3000, i), [], now, now)
    assert.ok(small.store.memoryBytes <= 10_000)
    assert.equal(small.findInMemory(req('/0')), undefined)
    assert.ok(small.findInMemory(req('/9')) !== undefined)

    const a = new HttpCache({ store: new CacheStore({ maxMemoryBytes: 1_000_000, diskDir: dir }), maxObjectBytes: 1_000_000 })
    a.put(req('/keep'), 200, { 'cache-control': 'max-age=60', etag: '"k"' }, Buffer.from('kept across restart'), [], now, now)
    a.put(req('/v'), 200, { 'cache-control': 'max-age=60', vary: 'accept' }, Buffer.from('json'), ['accept'], now, now)
    for (let i = 0; i < 50 && readdirSync(dir).filter((f) => f.endsWith('.entry')).length < 2; i++) await new Promise((r) => setTimeout(r, 20))
    writeFileSync(join(dir, 'torn.entry'), Buffer.from([0, 0, 9, 9, 1]))
    const b = new HttpCache({ store: new CacheStore({ maxMemoryBytes: 1_000_000, diskDir: dir }), maxObjectBytes: 1_000_000 })
    const e = await b.find(req('/keep'))
    assert.equal(e?.body.toString(), 'kept across restart')
    assert.equal(e?.headers['etag'], '"k"')
    assert.equal(b.evaluate(e!, req('/keep')).state, 'fresh')
    assert.equal(await b.find({ ...req('/v'), headers: { host: 'a.test', accept: 'text/html' } }), undefined)
    assert.equal(b.store.variants('http://a.test/v').length, 1)
    assert.ok(!readdirSync(dir).includes('torn.entry'))
    assert.equal(b.purgePrefix('http://a.test/'), 2)
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.entry')).length, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
