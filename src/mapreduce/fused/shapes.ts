// Recognises a few pure lambda shapes in shipped function source (acorn AST), so the task runner
// can run whole narrow chains at byte level (whole-stage code generation for known expressions,
// as Spark and DuckDB do for built-ins). Anything not recognised returns null and runs the
// generic path. Each recogniser accepts only exact shapes whose meaning does not depend on env.
import { parse } from 'acorn'
import type { FnSpec } from '../task-spec.js'

type N = { type: string; [key: string]: unknown }

const astCache = new Map<string, N | null>()

/** The function node of a `source` FnSpec (arrow or function expression), else null. */
function fnNode(spec: FnSpec): N | null {
  if (spec.kind !== 'source') return null
  let node = astCache.get(spec.source)
  if (node !== undefined) return node
  node = null
  try {
    const program = parse(spec.source, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as N
    const body = program['body'] as N[]
    const stmt = body.length === 1 ? body[0] : undefined
    const expr = stmt?.type === 'ExpressionStatement' ? (stmt['expression'] as N) : undefined
    if (expr !== undefined && (expr.type === 'ArrowFunctionExpression' || expr.type === 'FunctionExpression') && expr['async'] !== true && expr['generator'] !== true) node = expr
  } catch {
    node = null
  }
  if (astCache.size > 1000) astCache.clear()
  astCache.set(spec.source, node)
  return node
}

/** The returned expression: an expression body, or a block that is exactly `{ return e }`. */
function returned(fn: N): N | null {
  const body = fn['body'] as N
  if (fn['expression'] === true) return body
  if (body.type !== 'BlockStatement') return null
  const stmts = body['body'] as N[]
  const only = stmts.length === 1 ? stmts[0] : undefined
  return only?.type === 'ReturnStatement' && only['argument'] !== null ? (only['argument'] as N) : null
}

/** Names of the plain identifier parameters, or null when any parameter is a pattern or default. */
function paramNames(fn: N): string[] | null {
  const names: string[] = []
  for (const p of fn['params'] as N[]) {
    if (p.type !== 'Identifier') return null
    names.push(p['name'] as string)
  }
  return names
}

const isIdent = (n: unknown, name: string): boolean => (n as N | undefined)?.type === 'Identifier' && (n as N)['name'] === name
const isLiteral = (n: unknown, value: unknown): boolean => (n as N | undefined)?.type === 'Literal' && (n as N)['value'] === value
const isMember = (n: unknown, obj: string, prop: string): boolean => {
  const m = n as N | undefined
  return m?.type === 'MemberExpression' && m['computed'] !== true && m['optional'] !== true && isIdent(m['object'], obj) && isIdent(m['property'], prop)
}
const intLiteral = (n: unknown): number | null => {
  const l = n as N | undefined
  return l?.type === 'Literal' && typeof l['value'] === 'number' && Number.isSafeInteger(l['value']) ? (l['value'] as number) : null
}

/** One-parameter function `(x) => body` (also `function (x) { return body }`): [param, body]. */
function unary(spec: FnSpec): [string, N] | null {
  const fn = fnNode(spec)
  if (fn === null) return null
  const params = paramNames(fn)
  const body = returned(fn)
  return params !== null && params.length === 1 && body !== null ? [params[0] as string, body] : null
}

/**
 * `(l) => l.split(' ')` with a one-character ASCII separator other than '\n' and '\r': the
 * separator's byte, else null.
 */
export function splitSeparator(spec: FnSpec): number | null {
  const u = unary(spec)
  if (u === null) return null
  const [x, body] = u
  if (body.type !== 'CallExpression' || body['optional'] === true || !isMember(body['callee'], x, 'split')) return null
  const args = body['arguments'] as N[]
  const sep = args.length === 1 ? args[0] : undefined
  if (sep?.type !== 'Literal' || typeof sep['value'] !== 'string') return null
  const s = sep['value']
  if (s.length !== 1) return null
  const c = s.charCodeAt(0)
  return c < 0x80 && c !== 10 && c !== 13 ? c : null
}

/**
 * A filter that keeps exactly the non-empty strings: `w => w !== ''`, `w => w != ''`,
 * `w => '' !== w`, `w => w.length > 0`, `w => w.length !== 0`, `w => w.length >= 1`, `Boolean`.
 */
export function isNonEmptyFilter(spec: FnSpec): boolean {
  if (spec.kind === 'source' && spec.source === 'Boolean') return true
  const u = unary(spec)
  if (u === null) return false
  const [x, b] = u
  if (b.type !== 'BinaryExpression') return false
  const op = b['operator']
  const l = b['left']
  const r = b['right']
  if (op === '!==' || op === '!=') return (isIdent(l, x) && isLiteral(r, '')) || (isLiteral(l, '') && isIdent(r, x)) || (isMember(l, x, 'length') && isLiteral(r, 0))
  if (op === '>') return isMember(l, x, 'length') && isLiteral(r, 0)
  if (op === '>=') return isMember(l, x, 'length') && isLiteral(r, 1)
  return false
}

/** `w => [w, c]` with a safe-integer literal c (|c| <= 2^20, so sums of counts stay exact): c, else null. */
export function pairWithConstant(spec: FnSpec): number | null {
  const u = unary(spec)
  if (u === null) return null
  const [x, b] = u
  if (b.type !== 'ArrayExpression') return null
  const els = b['elements'] as (N | null)[]
  if (els.length !== 2 || !isIdent(els[0], x)) return null
  const c = intLiteral(els[1])
  return c !== null && Math.abs(c) <= 2 ** 20 ? c : null
}

/** `(a, b) => a + b` (or `b + a`). */
export function isSum(spec: FnSpec): boolean {
  const fn = fnNode(spec)
  if (fn === null) return false
  const params = paramNames(fn)
  const b = returned(fn)
  if (params === null || params.length !== 2 || b === null || b.type !== 'BinaryExpression' || b['operator'] !== '+') return false
  const [p, q] = params as [string, string]
  if (p === q) return false
  return (isIdent(b['left'], p) && isIdent(b['right'], q)) || (isIdent(b['left'], q) && isIdent(b['right'], p))
}

/** `(line) => [line.slice(0, k), line.slice(k)]` with a literal k >= 0: k, else null. */
export function sliceKeyValue(spec: FnSpec): number | null {
  const u = unary(spec)
  if (u === null) return null
  const [x, b] = u
  if (b.type !== 'ArrayExpression') return null
  const els = b['elements'] as (N | null)[]
  if (els.length !== 2) return null
  const sliceArgs = (n: N | null | undefined): N[] | null =>
    n?.type === 'CallExpression' && n['optional'] !== true && isMember(n['callee'], x, 'slice') ? (n['arguments'] as N[]) : null
  const a0 = sliceArgs(els[0])
  const a1 = sliceArgs(els[1])
  if (a0 === null || a1 === null || a0.length !== 2 || a1.length !== 1 || intLiteral(a0[0]) !== 0) return null
  const k = intLiteral(a0[1])
  return k !== null && k >= 0 && intLiteral(a1[0]) === k ? k : null
}

/** `([k, v]) => k + v` or `(r) => r[0] + r[1]`: concatenation of a pair's key and value. */
export function isPairConcat(spec: FnSpec): boolean {
  const fn = fnNode(spec)
  if (fn === null) return false
  const params = fn['params'] as N[]
  const b = returned(fn)
  if (params.length !== 1 || b === null || b.type !== 'BinaryExpression' || b['operator'] !== '+') return false
  const p = params[0] as N
  if (p.type === 'ArrayPattern') {
    const els = p['elements'] as (N | null)[]
    if (els.length !== 2 || els[0]?.type !== 'Identifier' || els[1]?.type !== 'Identifier') return false
    const k = els[0]['name'] as string
    const v = els[1]['name'] as string
    return k !== v && isIdent(b['left'], k) && isIdent(b['right'], v)
  }
  if (p.type !== 'Identifier') return false
  const r = p['name'] as string
  const index = (n: unknown, i: number): boolean => {
    const m = n as N | undefined
    return m?.type === 'MemberExpression' && m['computed'] === true && m['optional'] !== true && isIdent(m['object'], r) && isLiteral(m['property'], i)
  }
  return index(b['left'], 0) && index(b['right'], 1)
}
