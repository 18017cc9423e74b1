// Scope analysis of a shipped function's syntax tree (acorn ESTree): which identifiers it uses that
// none of its own scopes declare, and whether it captures the surrounding `this` or `arguments`.
// Resolution follows JavaScript's rules closely enough for shipping: `var` and parameters are
// function-scoped, `let`/`const`/`class`/function declarations block-scoped (the worker compiles in
// strict mode), catch parameters and `for (let ...)` bindings scoped to their clause, so a name that
// is only an inner parameter elsewhere is still free where it is used.

export type AnyNode = { type: string; start: number; [key: string]: unknown }

export function isNode(v: unknown): v is AnyNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string'
}

interface Scope {
  readonly names: Set<string>
  readonly parent: Scope | null
  /** A non-arrow function or a class body: `this` and `arguments` are its own below it. */
  readonly ownsThis: boolean
}

export interface FreeReference {
  readonly name: string
  /** Offset in the parsed source. */
  readonly pos: number
}

export interface FreeVariables {
  /** Unresolved identifiers, each name once (first use), in source order. */
  readonly free: FreeReference[]
  /** First `this` that refers to the surroundings of the shipped function, or null. */
  readonly thisCapture: number | null
}

function patternNames(p: unknown, out: Set<string>): void {
  if (!isNode(p)) return
  switch (p.type) {
    case 'Identifier': out.add(p['name'] as string); break
    case 'ObjectPattern': for (const prop of p['properties'] as AnyNode[]) patternNames(prop.type === 'RestElement' ? prop : prop['value'], out); break
    case 'ArrayPattern': for (const el of p['elements'] as unknown[]) patternNames(el, out); break
    case 'RestElement': patternNames(p['argument'], out); break
    case 'AssignmentPattern': patternNames(p['left'], out); break
  }
}

/** `var` names declared in a function body, not descending into nested functions. */
function varNames(n: unknown, out: Set<string>): void {
  if (Array.isArray(n)) { for (const c of n) varNames(c, out); return }
  if (!isNode(n)) return
  if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression' || n.type === 'ClassDeclaration' || n.type === 'ClassExpression') return
  if (n.type === 'VariableDeclaration' && n['kind'] === 'var') for (const d of n['declarations'] as AnyNode[]) patternNames(d['id'], out)
  for (const k of Object.keys(n)) if (k !== 'type') varNames(n[k], out)
}

/** Block-scoped declarations among a block's direct statements. */
function lexicalNames(statements: readonly unknown[], out: Set<string>): void {
  for (const s of statements) {
    if (!isNode(s)) continue
    if (s.type === 'VariableDeclaration' && s['kind'] !== 'var') for (const d of s['declarations'] as AnyNode[]) patternNames(d['id'], out)
    else if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && isNode(s['id'])) out.add(s['id']['name'] as string)
  }
}

/** Free identifiers and `this` captures of the function expression(s) in `root`. */
export function freeVariables(root: AnyNode): FreeVariables {
  const free: FreeReference[] = []
  const seen = new Set<string>()
  let thisCapture: number | null = null
  const resolves = (name: string, scope: Scope | null): boolean => {
    for (let s = scope; s !== null; s = s.parent) if (s.names.has(name)) return true
    return false
  }
  const ownsThis = (scope: Scope | null): boolean => {
    for (let s = scope; s !== null; s = s.parent) if (s.ownsThis) return true
    return false
  }
  const child = (parent: Scope | null, names: Set<string>, owns = false): Scope => ({ names, parent, ownsThis: owns })

  /** Visits the expressions inside a binding pattern (defaults, computed keys), not its names. */
  const pattern = (p: unknown, scope: Scope | null): void => {
    if (!isNode(p)) return
    switch (p.type) {
      case 'ObjectPattern':
        for (const prop of p['properties'] as AnyNode[]) {
          if (prop.type === 'RestElement') pattern(prop['argument'], scope)
          else { if (prop['computed'] === true) visit(prop['key'], scope, prop, 'key'); pattern(prop['value'], scope) }
        }
        break
      case 'ArrayPattern': for (const el of p['elements'] as unknown[]) pattern(el, scope); break
      case 'RestElement': pattern(p['argument'], scope); break
      case 'AssignmentPattern': pattern(p['left'], scope); visit(p['right'], scope, p, 'right'); break
    }
  }

  const fn = (n: AnyNode, scope: Scope | null): void => {
    const names = new Set<string>()
    const arrow = n.type === 'ArrowFunctionExpression'
    if (n.type === 'FunctionExpression' && isNode(n['id'])) names.add(n['id']['name'] as string)
    if (!arrow) names.add('arguments')
    for (const p of n['params'] as unknown[]) patternNames(p, names)
    const body = n['body'] as AnyNode
    if (body.type === 'BlockStatement') { varNames(body['body'], names); lexicalNames(body['body'] as unknown[], names) }
    const inner = child(scope, names, !arrow)
    for (const p of n['params'] as unknown[]) pattern(p, inner)
    if (body.type === 'BlockStatement') for (const s of body['body'] as unknown[]) visit(s, inner, body, 'body')
    else visit(body, inner, n, 'body')
  }

  const visit = (n: unknown, scope: Scope | null, parent: AnyNode | null, key: string): void => {
    if (Array.isArray(n)) { for (const c of n) visit(c, scope, parent, key); return }
    if (!isNode(n)) return
    switch (n.type) {
      case 'Identifier': {
        const t = parent?.type
        const notReference =
          (t === 'MemberExpression' && key === 'property' && parent?.['computed'] !== true) ||
          ((t === 'Property' || t === 'MethodDefinition' || t === 'PropertyDefinition') && key === 'key' && parent?.['computed'] !== true) ||
          ((t === 'LabeledStatement' || t === 'BreakStatement' || t === 'ContinueStatement') && key === 'label') ||
          t === 'MetaProperty'
        const name = n['name'] as string
        if (!notReference && !resolves(name, scope) && !seen.has(name)) { seen.add(name); free.push({ name, pos: n.start }) }
        return
      }
      case 'ThisExpression': case 'Super':
        if (!ownsThis(scope) && thisCapture === null) thisCapture = n.start
        return
      case 'FunctionDeclaration': case 'FunctionExpression': case 'ArrowFunctionExpression':
        fn(n, scope)
        return
      case 'ClassDeclaration': case 'ClassExpression': {
        const names = new Set<string>()
        if (isNode(n['id'])) names.add(n['id']['name'] as string)
        visit(n['superClass'], scope, n, 'superClass')
        visit(n['body'], child(scope, names, true), n, 'body')
        return
      }
      case 'VariableDeclarator':
        pattern(n['id'], scope)
        visit(n['init'], scope, n, 'init')
        return
      case 'BlockStatement': case 'StaticBlock': {
        const names = new Set<string>()
        lexicalNames(n['body'] as unknown[], names)
        visit(n['body'], child(scope, names), n, 'body')
        return
      }
      case 'SwitchStatement': {
        visit(n['discriminant'], scope, n, 'discriminant')
        const names = new Set<string>()
        for (const c of n['cases'] as AnyNode[]) lexicalNames(c['consequent'] as unknown[], names)
        visit(n['cases'], child(scope, names), n, 'cases')
        return
      }
      case 'ForStatement': case 'ForInStatement': case 'ForOfStatement': {
        const init = n['init'] ?? n['left']
        const names = new Set<string>()
        if (isNode(init) && init.type === 'VariableDeclaration' && init['kind'] !== 'var') for (const d of init['declarations'] as AnyNode[]) patternNames(d['id'], names)
        const inner = child(scope, names)
        for (const k of ['init', 'left', 'test', 'update', 'right', 'body']) visit(n[k], inner, n, k)
        return
      }
      case 'CatchClause': {
        const names = new Set<string>()
        patternNames(n['param'], names)
        const inner = child(scope, names)
        pattern(n['param'], inner)
        visit(n['body'], inner, n, 'body')
        return
      }
    }
    for (const k of Object.keys(n)) if (k !== 'type' && k !== 'start' && k !== 'end') visit(n[k], scope, n, k)
  }
  visit(root, null, null, '')
  return { free, thisCapture }
}
