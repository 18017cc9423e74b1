import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { loadConfigFile, parseConfig } from '../../src/internal/config.js'
import { ConfigError } from '../../src/internal/errors.js'

const schema = z
  .strictObject({
    listen: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535) }),
    pools: z.record(z.string(), z.strictObject({ servers: z.array(z.string().url()).min(1) })),
    routes: z.array(z.strictObject({ path: z.string(), upstream: z.string() })).default([]),
    mode: z.enum(['fast', 'safe']).default('safe'),
  })
  .superRefine((cfg, ctx) => {
    cfg.routes.forEach((r, i) => {
      if (!(r.upstream in cfg.pools)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'upstream'],
          message: `expected one of the declared pools (${Object.keys(cfg.pools).join(', ')}), got ${JSON.stringify(r.upstream)}`,
        })
      }
    })
  })

function expectConfigError(fn: () => unknown, code: string): ConfigError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`)
    assert.equal(err.code, code)
    return err
  }
  assert.fail('expected a ConfigError')
}

const good = `listen:
  port: 8080
pools:
  api:
    servers: [http://127.0.0.1:9000]
routes:
  - path: /
    upstream: api
`

test('a valid file parses, gets defaults, and is frozen', () => {
  const cfg = parseConfig(good, schema, 'proxy.yaml')
  assert.equal(cfg.listen.port, 8080)
  assert.equal(cfg.listen.host, '127.0.0.1')
  assert.equal(cfg.mode, 'safe')
  assert.ok(Object.isFrozen(cfg))
  assert.ok(Object.isFrozen(cfg.routes[0]))
  assert.throws(() => {
    ;(cfg.listen as { port: number }).port = 1
  }, TypeError)
})

test('JSON files are accepted', () => {
  const cfg = parseConfig('{"listen": {"port": 1}, "pools": {"a": {"servers": ["http://x.test"]}}}', schema, 'c.json')
  assert.equal(cfg.listen.port, 1)
})

test('wrong type names file:line:col, the field path and what was expected', () => {
  const text = good.replace('port: 8080', 'port: "eighty"')
  const err = expectConfigError(() => parseConfig(text, schema, 'proxy.yaml'), 'ERR_CONFIG_INVALID')
  assert.equal(err.problems.length, 1)
  assert.equal(err.problems[0], 'proxy.yaml:2:9 listen.port: expected number, got "eighty"')
})

test('an unknown key is rejected at its own position', () => {
  const text = good.replace('  port: 8080', '  port: 8080\n  prot: 9')
  const err = expectConfigError(() => parseConfig(text, schema, 'proxy.yaml'), 'ERR_CONFIG_INVALID')
  assert.match(err.problems[0] ?? '', /^proxy\.yaml:3:3 listen\.prot: unknown key "prot"/)
})

test('a cross-field rule reports the path of the offending value', () => {
  const text = good.replace('upstream: api', 'upstream: api2')
  const err = expectConfigError(() => parseConfig(text, schema, 'proxy.yaml'), 'ERR_CONFIG_INVALID')
  assert.equal(err.problems[0], 'proxy.yaml:8:15 routes[0].upstream: expected one of the declared pools (api), got "api2"')
})

test('an enum mismatch lists the allowed values', () => {
  const err = expectConfigError(() => parseConfig(`${good}mode: turbo\n`, schema, 'p.yaml'), 'ERR_CONFIG_INVALID')
  assert.equal(err.problems[0], 'p.yaml:9:7 mode: expected one of "fast", "safe", got "turbo"')
})

test('a missing required field points at its parent', () => {
  const err = expectConfigError(() => parseConfig('listen: {}\npools: {}\n', schema, 'p.yaml'), 'ERR_CONFIG_INVALID')
  assert.equal(err.problems[0], 'p.yaml:1:9 listen.port: expected number, got nothing')
})

test('a YAML syntax error names file:line:col', () => {
  const err = expectConfigError(() => parseConfig('listen:\n  port: [1, 2\npools: {}\n', schema, 'bad.yaml'), 'ERR_CONFIG_SYNTAX')
  assert.match(err.problems[0] ?? '', /^bad\.yaml:\d+:\d+ \(syntax\): /)
})

test('duplicate keys are a syntax error, not a silent override', () => {
  const err = expectConfigError(() => parseConfig('listen:\n  port: 1\n  port: 2\npools: {}\n', schema, 'dup.yaml'), 'ERR_CONFIG_SYNTAX')
  assert.match(err.problems[0] ?? '', /^dup\.yaml:3:3 /)
})

test('loadConfigFile reads from disk and reports unreadable files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-config-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, good)
  assert.equal(loadConfigFile(file, schema).listen.port, 8080)
  expectConfigError(() => loadConfigFile(join(dir, 'missing.yaml'), schema), 'ERR_CONFIG_READ')
})
