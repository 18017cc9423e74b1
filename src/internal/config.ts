// Config loading: a YAML or JSON file checked against a zod schema, returned frozen. Every error
// names the file, line and column, the field path, and what was expected.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename } from 'node:path'
import type { Document, LineCounter, Node as YamlNode } from 'yaml'
import type { z } from 'zod'
import { ConfigError, InternalErrorCodes } from './errors.js'
import { deepFreeze, type DeepReadonly } from './freeze.js'

export interface LoadConfigOptions {
  /** Name used in messages instead of the file's base name. */
  displayName?: string
}

type PathKey = string | number

let yamlModule: typeof import('yaml') | undefined

/**
 * `yaml` (73 CommonJS files) is required on the first config parsed, not at import: a process that
 * reads no config file never loads it (issue #16, RSS). Its `node` export is CommonJS either way.
 */
function yaml(): typeof import('yaml') {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'))
}

/** Formats a field path as `routes[0].upstream`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(root)' : out
}

/** Finds the YAML node for a path; returns the deepest node reached and, for a key, its key node. */
function locate(doc: Document.Parsed, path: readonly PathKey[], keyOf?: string): YamlNode | undefined {
  const { isMap, isPair, isScalar, isSeq } = yaml()
  let node: unknown = doc.contents
  let last: YamlNode | undefined = (node as YamlNode | null) ?? undefined
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key))
      if (pair === undefined) break
      node = pair.value
      if (node === null || node === undefined) {
        last = (pair.key as YamlNode | null) ?? last
        break
      }
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key]
      if (node === undefined) break
    } else break
    last = node as YamlNode
  }
  if (keyOf !== undefined && isMap(last)) {
    const pair = last.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === keyOf)
    if (pair !== undefined && isScalar(pair.key)) return pair.key
  }
  return last
}

function position(lc: LineCounter, node: YamlNode | undefined): string {
  const offset = node?.range?.[0] ?? 0
  const { line, col } = lc.linePos(offset)
  return `${line}:${col}`
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = root
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PathKey, unknown>)[key]
  }
  return v
}

/** Turns one zod issue into a human message ("expected X, got Y"). */
function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const got = describe(valueAt(raw, issue.path as PathKey[]))
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, got ${got}`
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (check the spelling; unknown keys are rejected)`
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'not_multiple_of':
      return `${issue.message}, got ${got}`
    default:
      return issue.message
  }
}

/**
 * Parses YAML (JSON is accepted too: it is YAML) and validates it against `schema`. Use strict
 * object schemas (`z.strictObject`) so unknown keys are rejected rather than ignored.
 */
export function parseConfig<S extends z.ZodType>(text: string, schema: S, fileName = 'config'): DeepReadonly<z.output<S>> {
  const { LineCounter, parseDocument } = yaml()
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0])
      return `${fileName}:${line}:${col} (syntax): ${e.message.split('\n')[0] ?? e.message}`
    })
    throw new ConfigError(InternalErrorCodes.CONFIG_SYNTAX, problems)
  }
  const raw: unknown = doc.toJS() ?? {}
  const result = schema.safeParse(raw)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path as PathKey[]
      if (issue.code === 'unrecognized_keys') {
        const node = locate(doc, path, issue.keys[0])
        const keyPath = formatPath([...path, issue.keys[0] ?? ''])
        return `${fileName}:${position(lineCounter, node)} ${keyPath}: ${issueMessage(issue, raw)}`
      }
      const node = locate(doc, path)
      return `${fileName}:${position(lineCounter, node)} ${formatPath(path)}: ${issueMessage(issue, raw)}`
    })
    throw new ConfigError(InternalErrorCodes.CONFIG_INVALID, problems)
  }
  return deepFreeze(result.data as z.output<S>)
}

/** Reads and validates a config file. See parseConfig. */
export function loadConfigFile<S extends z.ZodType>(file: string, schema: S, options: LoadConfigOptions = {}): DeepReadonly<z.output<S>> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(InternalErrorCodes.CONFIG_READ, [`${file}: cannot read config file: ${(err as Error).message}`], { cause: err })
  }
  return parseConfig(text, schema, options.displayName ?? basename(file))
}
