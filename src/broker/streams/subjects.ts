// Subject helpers for streams and consumer filters. The grammar and the wildcard logic are the
// broker's (../subject.ts, nats-server's rules: `a*b` is a literal token, only a whole `*` or `>`
// token is a wildcard); this file only names them the way the JetStream code reads them.
import { isValidLiteralSubject, isValidSubject, patternCovers, subjectMatches } from '../subject.js'

/** A stream subject or filter; literal only when `allowWildcards` is false. */
export function validSubject(s: string, allowWildcards = true): boolean {
  return allowWildcards ? isValidSubject(s) : isValidLiteralSubject(s)
}

/** Whether a subject has a wildcard token (a whole `*` or `>` token). */
export function hasWildcard(s: string): boolean {
  return s.split('.').some((t) => t === '*' || t === '>')
}

/** Could some subject match both patterns? */
export { patternsOverlap as subjectsOverlap } from '../subject.js'

/** Is every subject matching `sub` also matched by `sup`? */
export function subjectIsSubset(sub: string, sup: string): boolean {
  return patternCovers(sup, sub)
}

/** A matcher for a filter; undefined means "everything". */
export function matcher(filter: string | undefined): ((subject: string) => boolean) | undefined {
  if (filter === undefined || filter === '' || filter === '>') return undefined
  if (!hasWildcard(filter)) return (s) => s === filter
  return (s) => subjectMatches(filter, s)
}
