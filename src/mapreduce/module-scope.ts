// The module a shipped function was written in: found from the call stack of the operator, read
// once, and scanned for the names it declares (imports, const/let/var, function, class), so a
// function that uses a name its module declares over a standard global (`const escape = ...`) is
// refused instead of silently binding the worker's global. The scan runs on tokens, not a syntax
// tree, so TypeScript sources work (types are lexically JavaScript) and it over-approximates: a
// name declared anywhere in the module counts.
import { readFileSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { fileURLToPath } from 'node:url'
import { tokenizer } from 'acorn'

export interface CallSite {
  readonly file: string
  readonly line: number
}

const ENGINE_DIR = fileURLToPath(new URL('.', import.meta.url))

/** The first stack frame outside the engine: the user's operator call. */
export function userCallSite(): CallSite | null {
  const stack = new Error().stack ?? ''
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(line.trim())
    if (m === null) continue
    const file = (m[1] as string).startsWith('file://') ? fileURLToPath(m[1] as string) : (m[1] as string)
    if (file.startsWith(ENGINE_DIR) || file.includes('/node_modules/')) continue
    return { file, line: Number(m[2]) }
  }
  return null
}

const cache = new Map<string, ReadonlyMap<string, number> | null>()

/** Names declared in the module at `file`, each with the line of its first declaration; null if unreadable. */
export function moduleDeclarations(file: string): ReadonlyMap<string, number> | null {
  if (cache.has(file)) return cache.get(file) ?? null
  let decls: Map<string, number> | null = null
  try {
    decls = scan(readFileSync(file, 'utf8'))
  } catch {
    decls = null
  }
  if (cache.size > 1000) cache.clear()
  cache.set(file, decls)
  return decls
}

interface Tok { readonly kind: string; readonly value: string; readonly line: number }

function scan(source: string): Map<string, number> {
  const toks: Tok[] = []
  try {
    for (const t of tokenizer(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowHashBang: true })) {
      toks.push({ kind: t.type.label, value: typeof (t as { value?: unknown }).value === 'string' ? ((t as { value?: unknown }).value as string) : '', line: t.loc?.start.line ?? 0 })
    }
  } catch {
    // A token acorn does not know (a decorator, say): keep what was read before it.
  }
  const out = new Map<string, number>()
  const add = (t: Tok | undefined): void => { if (t !== undefined && t.kind === 'name' && !out.has(t.value)) out.set(t.value, t.line) }
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Tok
    const next = toks[i + 1]
    if (t.kind === 'function' || t.kind === 'class') {
      add(next?.kind === '*' ? toks[i + 2] : next)
    } else if (t.kind === 'const' || t.kind === 'var' || (t.kind === 'name' && t.value === 'let')) {
      if (next?.kind === 'name') add(next)
      else if (next?.kind === '{' || next?.kind === '[') i = bracketNames(toks, i + 1, add)
    } else if (t.kind === 'import' && next?.kind !== '(' && next?.kind !== '.') {
      // import x, { a as b, c }, * as ns from '...'
      // Names imported from Node's built-in modules (`import { Buffer } from 'node:buffer'`) are
      // the globals themselves on every worker: they shadow nothing.
      const names: Tok[] = []
      for (let j = i + 1; j < toks.length; j++) {
        const u = toks[j] as Tok
        if (u.kind === 'string' || u.kind === ';') {
          if (!(u.kind === 'string' && isBuiltin(u.value))) for (const n of names) add(n)
          i = j
          break
        }
        if (u.kind !== 'name' || u.value === 'from' || u.value === 'type' || u.value === 'as') continue
        if (toks[j + 1]?.value === 'as') continue
        names.push(u)
      }
    }
  }
  return out
}

/** Names in a destructuring pattern starting at `open`; returns the index of its closing bracket. */
function bracketNames(toks: readonly Tok[], open: number, add: (t: Tok) => void): number {
  let depth = 0
  let inDefault = false
  for (let j = open; j < toks.length; j++) {
    const u = toks[j] as Tok
    if (u.kind === '{' || u.kind === '[' || u.kind === '(') depth++
    else if (u.kind === '}' || u.kind === ']' || u.kind === ')') { inDefault = false; if (--depth === 0) return j }
    else if (u.kind === '=') inDefault = true
    else if (u.kind === ',') inDefault = false
    // `{ a: b }` declares b, not a; `{ a = f() }` declares a, not f.
    else if (u.kind === 'name' && !inDefault && toks[j + 1]?.kind !== ':') add(u)
  }
  return toks.length
}
