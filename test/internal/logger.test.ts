import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { createLogger } from '../../src/internal/logger.js'

function capture(pretty: boolean): { lines: () => string; log: ReturnType<typeof createLogger> } {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (d: Buffer) => (text += d.toString()))
  return { lines: () => text, log: createLogger({ name: 'test', destination: stream, pretty }) }
}

test('logger writes JSON lines by default for non-terminals', async () => {
  const { lines, log } = capture(false)
  log.info({ port: 4222 }, 'listening')
  await new Promise((r) => setImmediate(r))
  const rec = JSON.parse(lines().trim()) as Record<string, unknown>
  assert.equal(rec.msg, 'listening')
  assert.equal(rec.port, 4222)
  assert.equal(rec.name, 'test')
})

test('logger pretty mode writes human-readable lines', async () => {
  const { lines, log } = capture(true)
  log.warn({ port: 4222 }, 'listening')
  await new Promise((r) => setImmediate(r))
  assert.match(lines(), /WARN.*\(test\).*listening/)
  assert.throws(() => JSON.parse(lines()))
})
