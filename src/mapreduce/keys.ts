// Key semantics shared by partitioners, aggregation and sorting: a deterministic hash (the same in
// every process, so reruns route records identically) and a total order.

/** FNV-1a over UTF-16 code units; stable across processes and runs. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** Deterministic non-negative 32-bit hash of a key (by value for arrays and objects). */
export function hashKey(k: unknown): number {
  switch (typeof k) {
    case 'string': return hashString(k)
    case 'number': return Number.isInteger(k) && Math.abs(k) < 2 ** 31 ? mix32(k | 0) : hashString(String(k))
    case 'boolean': return k ? 1231 : 1237
    case 'bigint': return hashString(k.toString())
    case 'undefined': return 0
    default: return k === null ? 0 : hashString(canonical(k))
  }
}

/** Canonical string of a composite key (arrays, plain objects). */
export function canonical(k: unknown): string {
  return JSON.stringify(k) ?? 'undefined'
}

const rank = (k: unknown): number => {
  switch (typeof k) {
    case 'undefined': return 0
    case 'boolean': return 2
    case 'number': return 3
    case 'bigint': return 3
    case 'string': return 4
    default: return k === null ? 1 : Array.isArray(k) ? 5 : 6
  }
}

/** Total order: null/undefined < booleans < numbers < strings < arrays (element-wise) < objects. */
export function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (ra === 5) {
    const x = a as unknown[]
    const y = b as unknown[]
    const n = Math.min(x.length, y.length)
    for (let i = 0; i < n; i++) {
      const c = compareKeys(x[i], y[i])
      if (c !== 0) return c
    }
    return x.length - y.length
  }
  if (ra === 6) {
    const x = canonical(a)
    const y = canonical(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (ra === 2 || ra === 3) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
  return 0
}

/** Orders by hash, then by key: the order of spilled aggregation runs. */
export function compareHashed(ha: number, a: unknown, hb: number, b: unknown): number {
  return ha !== hb ? (ha < hb ? -1 : 1) : compareKeys(a, b)
}
