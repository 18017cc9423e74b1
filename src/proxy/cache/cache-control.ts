// Cache-Control parsing (RFC 9111 §5.2): directives are case-insensitive tokens with optional
// token or quoted-string arguments; commas inside quotes do not split. Repeated headers join.

export type Directives = Map<string, string | true>

export function parseCacheControl(value: string | readonly string[] | undefined): Directives {
  const out: Directives = new Map()
  if (value === undefined) return out
  const text = typeof value === 'string' ? value : value.join(',')
  let i = 0
  const n = text.length
  while (i < n) {
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++
    let name = ''
    while (i < n && text[i] !== '=' && text[i] !== ',') name += text[i++]
    name = name.trim().toLowerCase()
    let arg: string | true = true
    if (text[i] === '=') {
      i++
      if (text[i] === '"') {
        i++
        let v = ''
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++
          v += text[i++]
        }
        i++
        arg = v
      } else {
        let v = ''
        while (i < n && text[i] !== ',') v += text[i++]
        arg = v.trim()
      }
    }
    while (i < n && text[i] !== ',') i++
    // RFC 9111 §4.2.1: with conflicting duplicates of a directive, the cache may take either; the
    // conservative choice is the first for lifetimes. A duplicate with a different value makes a
    // delta-seconds directive invalid, which §1.2.2 says must be treated as stale (see freshness).
    if (name !== '') {
      const prev = out.get(name)
      if (prev === undefined) out.set(name, arg)
      else if (prev !== arg) out.set(name, 'invalid')
    }
  }
  return out
}

/** delta-seconds (§1.2.2): digits only; too big saturates at 2^31; anything else is invalid (-1). */
export function deltaSeconds(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined
  if (v === true || !/^\d+$/.test(v)) return -1
  const n = Number(v)
  return n > 2_147_483_648 ? 2_147_483_648 : n
}
