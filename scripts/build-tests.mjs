#!/usr/bin/env node
// Compiles the repository's TypeScript (src/, test/, bench/, examples/) to JavaScript once, into a
// mirror of the repository at .test-build/, so that `npm test` runs every test file and every
// process the tests start as plain JavaScript. Through tsx's loader each of those ~500 processes
// paid 0.3-0.8 s of CPU for the loader thread and its per-module hooks before doing any work.
//
// The transform is tsx's own (esbuild with tsx's options: the running Node as target, names kept,
// whitespace minified, source maps), one output file per source file, so the code that runs is the
// code tsx would have run. The mirror holds, beside each `x.js`, a link to its `x.ts`, and links to
// every other file and top-level entry, so paths that tests build from `import.meta.url` (fixtures,
// package.json, src/cli/bin.ts for a child run through tsx) resolve as they do in the repository.
import { build } from 'esbuild'
import { mkdirSync, readdirSync, rmSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs'
import { join, relative, dirname } from 'node:path'

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '')
export const BUILD_DIR = '.test-build'

const COMPILED = ['src', 'test', 'bench', 'examples']
const SKIP_TOP = new Set(['.git', BUILD_DIR, ...COMPILED])

function walk(dir, out) {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (ent.name === 'node_modules' || ent.name === 'results') continue
    const full = join(dir, ent.name)
    if (ent.isDirectory()) walk(full, out)
    else out.push(full)
  }
  return out
}

/** Builds the mirror and returns its absolute path. */
export async function buildTests() {
  const out = join(root, BUILD_DIR)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  // dist/ may not exist yet (a fresh clone): make it, so the mirror links to it and a test's
  // `npm run build` in the mirror fills the repository's dist/, where bin/switchyard.js looks.
  mkdirSync(join(root, 'dist'), { recursive: true })
  for (const name of readdirSync(root)) {
    if (SKIP_TOP.has(name)) continue
    symlinkSync(join(root, name), join(out, name))
  }
  const entryPoints = []
  for (const top of COMPILED) {
    let files
    try {
      files = walk(join(root, top), [])
    } catch (err) {
      if (err.code === 'ENOENT') continue
      throw err
    }
    for (const file of files) {
      const rel = relative(root, file)
      const target = join(out, rel)
      mkdirSync(dirname(target), { recursive: true })
      symlinkSync(file, target)
      if (/\.ts$/.test(file) && !file.endsWith('.d.ts')) entryPoints.push(target)
    }
  }
  await build({
    entryPoints,
    outdir: out,
    outbase: out,
    // Source maps name the mirror's link to each .ts (not the repository's file), so a stack trace
    // points inside the mirror, where code that finds its own files from import.meta.url looks.
    preserveSymlinks: true,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    keepNames: true,
    minifyWhitespace: true,
    sourcemap: 'inline',
    logLevel: 'error',
    tsconfig: join(root, 'tsconfig.json'),
  })
  writeFileSync(join(out, '.built'), `${new Date().toISOString()}\n`)
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = Date.now()
  const out = await buildTests()
  console.log(`build-tests: ${out} in ${Date.now() - t0} ms`)
}
