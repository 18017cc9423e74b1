import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sources } from './_sources.js'

const root = new URL('../..', import.meta.url).pathname


test('every error code used in src/ is documented in docs/errors.md', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
  const documented = new Set([...doc.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]))
  const used = new Map<string, string>()
  for (const file of sources(join(root, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/['"](ERR_[A-Z0-9_]+)['"]/g)) used.set(m[1]!, file)
  }
  assert.ok(used.size > 0, 'found no error codes at all: the scan is broken')
  const missing = [...used].filter(([code]) => !documented.has(code)).map(([code, file]) => `${code} (${file.slice(root.length)})`)
  assert.deepEqual(missing, [], `undocumented error codes: ${missing.join(', ')}`)
})
