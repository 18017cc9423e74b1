// Cache-Control parsing (RFC 9111 §5.2) and Surrogate-Control (Edge Architecture Specification
// 1.0): directives are case-insensitive tokens with an optional `=` and a token or quoted-string
// argument, with no whitespace around the `=`; commas inside quotes do not split; repeated headers
// join. A directive that breaks the grammar is dropped, as if absent.

export type Directives = Map<string, string | true>

const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/

function isTchar(c: string | undefined): boolean {
  return c !== undefined && TCHAR.test(c)
}

/** Skips to the next top-level comma (quotes respected); returns its index or `n`. */
function skipToComma(text: string, i: number): number {
  let quoted = false
  for (; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if (c === ',') return i
  }
  return text.length
}

/**
 * Parses a directive list. `target` (Surrogate-Control): a directive may end in `;token` and then
 * applies only when `token` is `target`.
 */
function parseDirectives(value: string | readonly string[] | undefined, target?: string): Directives {
  const out: Directives = new Map()
  if (value === undefined) return out
  const text = typeof value === 'string' ? value : value.join(',')
  const n = text.length
  let i = 0
  while (i < n) {
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++
    if (i >= n) break
    const start = i
    while (isTchar(text[i])) i++
    let name = text.slice(start, i).toLowerCase()
    let arg: string | true = true
    let valid = name !== ''
    if (valid && text[i] === '=') {
      i++
      if (text[i] === '"') {
        i++
        let v = ''
        let closed = false
        while (i < n) {
          const c = text[i]
          if (c === '\\' && i + 1 < n) {
            v += text[i + 1]
            i += 2
            continue
          }
          i++
          if (c === '"') {
            closed = true
            break
          }
          v += c
        }
        arg = v
        valid = closed
      } else {
        const vs = i
        // Surrogate-Control's max-age=60+30 holds a `+`, a tchar already.
        while (isTchar(text[i])) i++
        arg = text.slice(vs, i)
        valid = arg !== ''
      }
    }
    if (valid && target !== undefined && text[i] === ';') {
      const ts = ++i
      while (isTchar(text[i])) i++
      if (text.slice(ts, i).toLowerCase() !== target) name = ''
    }
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++
    // Anything else before the next comma (`max-age =1`, `max-age= 1`, `a b`) breaks the grammar.
    if (i < n && text[i] !== ',') valid = false
    i = skipToComma(text, i)
    // RFC 9111 §4.2.1: with conflicting duplicates of a directive, the cache may take either; the
    // conservative choice is the first for lifetimes. A duplicate with a different value makes a
    // delta-seconds directive invalid, which §1.2.2 says must be treated as stale (see freshness).
    if (valid && name !== '') {
      const prev = out.get(name)
      if (prev === undefined) out.set(name, arg)
      else if (prev !== arg) out.set(name, 'invalid')
    }
  }
  return out
}

export function parseCacheControl(value: string | readonly string[] | undefined): Directives {
  return parseDirectives(value)
}

/** The device token that Surrogate-Control directives may target (`max-age=60;switchyard`). */
export const SURROGATE_TARGET = 'switchyard'

export function parseSurrogateControl(value: string | readonly string[] | undefined): Directives {
  return parseDirectives(value, SURROGATE_TARGET)
}

/** delta-seconds (§1.2.2): digits only; too big saturates at 2^31; anything else is invalid (-1). */
export function deltaSeconds(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined
  if (v === true || !/^\d+$/.test(v)) return -1
  const n = Number(v)
  return n > 2_147_483_648 ? 2_147_483_648 : n
}

/** A field-name list argument (`no-cache="a, b"`, `private="a"`), lower-cased; [] when there is none. */
export function fieldList(v: string | true | undefined): string[] {
  if (v === undefined || v === true) return []
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
}
