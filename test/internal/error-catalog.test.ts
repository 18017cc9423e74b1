import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) sources(full, out)
    else if (name.endsWith('.ts')) out.push(full)
  }
  return out
}

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
