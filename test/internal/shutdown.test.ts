import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { installShutdown } from '../../src/internal/shutdown.js'

test('shutdown: waits for in-flight work, then exits 0', async () => {
  const codes: number[] = []
  let finished = false
  const h = installShutdown({
    signals: [],
    exit: (c) => codes.push(c),
    onShutdown: async () => {
      await new Promise((r) => setTimeout(r, 50))
      finished = true
    },
  })
  await h.trigger('test')
  assert.equal(finished, true)
  assert.deepEqual(codes, [0])
  h.dispose()
})

test('shutdown: a deadline that passes exits 1', async () => {
  const codes: number[] = []
  const h = installShutdown({ signals: [], deadlineMs: 30, exit: (c) => codes.push(c), onShutdown: () => new Promise(() => {}) })
  await h.trigger('test')
  assert.deepEqual(codes, [1])
  h.dispose()
})

test('shutdown: a second request exits at once', async () => {
  const codes: number[] = []
  const h = installShutdown({ signals: [], exit: (c) => codes.push(c), onShutdown: () => new Promise((r) => setTimeout(r, 100)) })
  const first = h.trigger('one')
  void h.trigger('two')
  assert.deepEqual(codes, [130])
  await first
  assert.deepEqual(codes, [130, 0])
  h.dispose()
})

const child = `
import { installShutdown } from './src/internal/shutdown.ts'
installShutdown({ onShutdown: async () => { await new Promise((r) => setTimeout(r, 200)); console.log('drained') } })
setInterval(() => {}, 1000)
console.log('ready')
`

async function spawnChild() {
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { cwd: new URL('../..', import.meta.url).pathname })
  let out = ''
  p.stdout.on('data', (d: Buffer) => (out += d.toString()))
  while (!out.includes('ready')) await once(p.stdout, 'data')
  return { p, out: () => out }
}

test('shutdown: SIGTERM in a real process drains and exits 0', async () => {
  const { p, out } = await spawnChild()
  p.kill('SIGTERM')
  const [code] = (await once(p, 'exit')) as [number | null]
  assert.equal(code, 0)
  assert.match(out(), /drained/)
})

test('shutdown: a second SIGINT exits at once without draining', async () => {
  const { p, out } = await spawnChild()
  p.kill('SIGINT')
  await new Promise((r) => setTimeout(r, 20))
  p.kill('SIGINT')
  const [code] = (await once(p, 'exit')) as [number | null]
  assert.equal(code, 130)
  assert.doesNotMatch(out(), /drained/)
})
