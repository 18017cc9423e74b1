// The layering rules of docs/development.md, checked on every import in src/: the wings (broker,
// proxy, mapreduce) never import each other or the CLI, src/internal imports no wing, and the CLI
// reaches a wing only through a public entry point named in package.json's "exports".
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { sources } from './_sources.js'

const root = new URL('../..', import.meta.url).pathname
const src = join(root, 'src')
const WINGS = ['broker', 'proxy', 'mapreduce'] as const


/** Relative specifiers a file loads: static and dynamic imports, re-exports, and string literals that
 * name a module path (a string-path `import(path)` is an import too). */
export function specifiers(text: string): string[] {
  const out = new Set<string>()
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) out.add(m[1] as string)
  for (const m of text.matchAll(/['"](\.{1,2}\/[^'"\s]+\.js)['"]/g)) out.add(m[1] as string)
  return [...out]
}

/** 'broker', 'proxy', 'mapreduce', 'internal', 'cli' or undefined for a path under src/. */
function area(file: string): string | undefined {
  const rel = relative(src, file)
  return rel.startsWith('..') ? undefined : rel.split('/')[0]
}

function publicEntries(): Set<string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default?: string } | string> }
  const out = new Set<string>()
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default
    if (file?.startsWith('./dist/') === true) out.add(join(src, file.slice('./dist/'.length).replace(/\.js$/, '.ts')))
  }
  return out
}

export function violations(files: readonly string[], read: (f: string) => string, entries: ReadonlySet<string>): string[] {
  const found: string[] = []
  for (const file of files) {
    const from = area(file)
    for (const spec of specifiers(read(file))) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      const to = area(target)
      if (to === undefined || to === from) continue
      const where = `${relative(root, file)} -> ${spec}`
      const toWing = (WINGS as readonly string[]).includes(to)
      if ((WINGS as readonly string[]).includes(from ?? '') && (toWing || to === 'cli')) found.push(`${where}: ${from} must not import ${to}`)
      else if (from === 'internal' && (toWing || to === 'cli')) found.push(`${where}: internal must not import ${to}`)
      else if (from === 'cli' && toWing && !entries.has(target)) found.push(`${where}: the CLI uses a wing's public entry point only`)
    }
  }
  return found
}

test('wings never import each other, internal imports no wing, the CLI uses public entry points', () => {
  const files = sources(src)
  const entries = publicEntries()
  assert.ok(files.length > 100 && entries.size >= 3, 'found too few sources or entry points: the scan is broken')
  const found = violations(files, (f) => readFileSync(f, 'utf8'), entries)
  assert.deepEqual(found, [], `layering violations:\n${found.join('\n')}`)
})

test('the checker catches each kind of violation (negative control)', () => {
  const f = (p: string): string => join(src, p)
  const fake: Record<string, string> = {
    [f('proxy/a.ts')]: "import { x } from '../broker/subject.js'",
    [f('mapreduce/b.ts')]: "export * from '../cli/main.js'",
    [f('internal/c.ts')]: "const m = await import('../proxy/index.js')",
    [f('cli/d.ts')]: "import { Worker } from '../mapreduce/cluster/worker.js'",
    [f('cli/e.ts')]: "const path = '../mapreduce/cluster/cluster-executor.js'",
    [f('cli/ok.ts')]: "import { Broker } from '../broker/index.js'\nimport { x } from './y.js'",
    [f('broker/ok.ts')]: "import { y } from '../internal/logger.js'",
  }
  const found = violations(Object.keys(fake), (p) => fake[p] as string, new Set([f('broker/index.ts'), f('mapreduce/index.ts'), f('proxy/index.ts')]))
  assert.equal(found.length, 5, found.join('\n'))
  for (const bad of ['proxy/a.ts', 'mapreduce/b.ts', 'internal/c.ts', 'cli/d.ts', 'cli/e.ts']) assert.ok(found.some((v) => v.startsWith(`src/${bad}`)), bad)
})

const fusedDir = join(src, 'mapreduce', 'fused')
const fusedEntry = join(fusedDir, 'index.ts')

/** Imports of src/mapreduce/fused/* from outside fused/ that do not go through fused/index.ts. */
export function fusedViolations(files: readonly string[], read: (f: string) => string): string[] {
  const found: string[] = []
  for (const file of files) {
    if (dirname(file) === fusedDir || file.startsWith(`${fusedDir}/`)) continue
    for (const spec of specifiers(read(file))) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts')
      if (target.startsWith(`${fusedDir}/`) && target !== fusedEntry) found.push(`${relative(root, file)} -> ${spec}: the fused stages are reached through fused/index.js only`)
    }
  }
  return found
}

test('generic code reaches the fused stages only through fused/index.ts', () => {
  const files = sources(src)
  assert.ok(files.some((f) => f === fusedEntry), 'fused/index.ts not found: the scan is broken')
  const found = fusedViolations(files, (f) => readFileSync(f, 'utf8'))
  assert.deepEqual(found, [], `fused imports bypassing fused/index.ts:\n${found.join('\n')}`)
})

test('the fused-entry checker catches each way around it (negative control)', () => {
  const f = (p: string): string => join(src, p)
  const fake: Record<string, string> = {
    [f('mapreduce/a.ts')]: "import { matchWordCount } from './fused/word-count.js'",
    [f('mapreduce/b.ts')]: "const m = await import('./fused/sort.js')",
    [f('mapreduce/cluster/c.ts')]: "export { x } from '../fused/warm-up.js'",
    [f('mapreduce/d.ts')]: "const path = './fused/sum-save.js'",
    [f('mapreduce/ok.ts')]: "import { matchFusedMap } from './fused/index.js'",
    [f('mapreduce/fused/ok.ts')]: "import { runSortMap } from './sort.js'\nimport { x } from '../record-frames.js'",
  }
  const found = fusedViolations(Object.keys(fake), (p) => fake[p] as string)
  assert.equal(found.length, 4, found.join('\n'))
  for (const bad of ['mapreduce/a.ts', 'mapreduce/b.ts', 'mapreduce/cluster/c.ts', 'mapreduce/d.ts']) assert.ok(found.some((v) => v.startsWith(`src/${bad}`)), bad)
})
