// Subject syntax: dot-separated non-empty tokens; `*` matches one token and `>` (last token only)
// one or more. Published subjects must be literal.

/** A subscription subject: tokens non-empty, no whitespace, `>` only as the whole last token. */
export function isValidSubject(subject: string): boolean {
  const n = subject.length
  if (n === 0) return false
  let tokenStart = 0
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : subject.charCodeAt(i)
    if (c === 46 /* . */) {
      const len = i - tokenStart
      if (len === 0) return false
      if (len === 1) {
        const t = subject.charCodeAt(tokenStart)
        if (t === 62 /* > */ && i !== n) return false
      }
      tokenStart = i + 1
    } else if (c === 32 || c === 9 || c === 13 || c === 10) {
      return false
    }
  }
  return true
}

/** A publish subject: valid and without wildcard tokens. */
export function isValidLiteralSubject(subject: string): boolean {
  if (!isValidSubject(subject)) return false
  const n = subject.length
  let tokenStart = 0
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === 46) {
      if (i - tokenStart === 1) {
        const t = subject.charCodeAt(tokenStart)
        if (t === 42 || t === 62) return false
      }
      tokenStart = i + 1
    }
  }
  return true
}

/** Whether a literal subject matches a (possibly wildcard) pattern. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const t = p[i] as string
    if (t === '>') return s.length > i
    if (i >= s.length) return false
    if (t !== '*' && t !== s[i]) return false
  }
  return p.length === s.length
}

/** Whether every subject matched by `inner` is also matched by `outer` (used for permission checks on SUB). */
export function patternCovers(outer: string, inner: string): boolean {
  const o = outer.split('.')
  const n = inner.split('.')
  for (let i = 0; i < o.length; i++) {
    const t = o[i] as string
    if (t === '>') return n.length > i
    if (i >= n.length) return false
    const u = n[i] as string
    if (t === '*') {
      if (u === '>') return false
      continue
    }
    if (t !== u) return false
  }
  return o.length === n.length
}

/** Could some literal subject match both patterns? (A deny pattern that overlaps a wildcard subscription.) */
export function patternsOverlap(a: string, b: string): boolean {
  const x = a.split('.')
  const y = b.split('.')
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const xt = x[i]
    const yt = y[i]
    if (xt === '>' || yt === '>') return xt !== undefined && yt !== undefined
    if (xt === undefined || yt === undefined) return false
    if (xt !== '*' && yt !== '*' && xt !== yt) return false
  }
  return true
}
