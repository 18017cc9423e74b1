// Subject helpers for streams and consumer filters: validation, wildcard matching ('*' one token,
// '>' the rest) and overlap between two patterns (for stream subject conflicts).

export function validSubject(s: string, allowWildcards = true): boolean {
  if (s.length === 0 || /\s/.test(s)) return false
  const toks = s.split('.')
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as string
    if (t.length === 0) return false
    if (t.includes('*') || t.includes('>')) {
      if (!allowWildcards) return false
      if (t === '>' && i !== toks.length - 1) return false
      if (t !== '*' && t !== '>') return false
    }
  }
  return true
}

export function hasWildcard(s: string): boolean {
  return s.split('.').some((t) => t === '*' || t === '>')
}

/** Does the concrete `subject` match `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject || pattern === '>') return true
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const pt = p[i] as string
    if (pt === '>') return s.length > i
    if (i >= s.length) return false
    if (pt !== '*' && pt !== s[i]) return false
  }
  return p.length === s.length
}

/** Could some subject match both patterns? */
export { patternsOverlap as subjectsOverlap } from '../subject.js'

/** Is every subject matching `sub` also matched by `sup`? */
export function subjectIsSubset(sub: string, sup: string): boolean {
  const x = sub.split('.')
  const y = sup.split('.')
  for (let i = 0; i < y.length; i++) {
    const yt = y[i] as string
    const xt = x[i]
    if (yt === '>') return xt !== undefined
    if (xt === undefined) return false
    if (xt === '>') return false
    if (yt !== '*' && (xt === '*' || xt !== yt)) return false
  }
  return x.length === y.length
}

/** A matcher for a filter; undefined means "everything". */
export function matcher(filter: string | undefined): ((subject: string) => boolean) | undefined {
  if (filter === undefined || filter === '' || filter === '>') return undefined
  if (!hasWildcard(filter)) return (s) => s === filter
  return (s) => subjectMatches(filter, s)
}
