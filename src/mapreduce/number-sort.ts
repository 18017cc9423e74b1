// A stable sort of [key, value] pairs whose keys are all numbers, without a comparator: each key
// becomes its order-preserving 64-bit pattern and the pair indexes are radix-sorted (LSD, 16-bit
// digits, stable), so ties keep arrival order exactly as the comparator sort over compareKeys
// does. sortBy(e => e.amount) spent most of its reduce side in ~20 comparator calls per record.

/** Below this a comparator sort is as fast (the count arrays cost 4 x 256 KiB per pass). */
export const NUMBER_SORT_MIN = 4096

/**
 * The pairs in key order (descending if `ascending` is false), stable; null when a key is NaN
 * (compareKeys makes NaN equal to every number, which is no order a radix sort can reproduce).
 */
export function sortPairsByNumber(pairs: readonly (readonly [unknown, unknown])[], ascending: boolean): [unknown, unknown][] | null {
  const n = pairs.length
  const hi = new Uint32Array(n)
  const lo = new Uint32Array(n)
  const f = new Float64Array(1)
  const u = new Uint32Array(f.buffer)
  const flip = ascending ? 0 : 0xffffffff
  for (let i = 0; i < n; i++) {
    const k = (pairs[i] as readonly [unknown, unknown])[0] as number
    if (k !== k) return null
    // + 0 turns -0 into 0: compareKeys holds them equal, so they must share a pattern.
    f[0] = k + 0
    let h = u[1] as number
    let l = u[0] as number
    // Negative numbers: all bits flipped (larger magnitude sorts first); others: the sign bit set.
    if (h >= 0x80000000) { h = ~h; l = ~l } else h |= 0x80000000
    hi[i] = (h ^ flip) >>> 0
    lo[i] = (l ^ flip) >>> 0
  }
  let idx = new Uint32Array(n)
  for (let i = 0; i < n; i++) idx[i] = i
  let tmp = new Uint32Array(n)
  const count = new Uint32Array(65537)
  const passes: [Uint32Array, number][] = [[lo, 0], [lo, 16], [hi, 0], [hi, 16]]
  for (const [word, shift] of passes) {
    count.fill(0)
    for (let i = 0; i < n; i++) (count[(((word[i] as number) >>> shift) & 0xffff) + 1] as number)++
    // A digit every key shares (the low mantissa bits of integers) leaves the order as it is.
    if (count.some((c) => c === n)) continue
    for (let b = 0; b < 65536; b++) count[b + 1] = (count[b + 1] as number) + (count[b] as number)
    for (let i = 0; i < n; i++) {
      const x = idx[i] as number
      const d = ((word[x] as number) >>> shift) & 0xffff
      tmp[count[d] as number] = x
      count[d] = (count[d] as number) + 1
    }
    const t = idx
    idx = tmp
    tmp = t
  }
  const out = new Array<[unknown, unknown]>(n)
  for (let i = 0; i < n; i++) out[i] = pairs[idx[i] as number] as [unknown, unknown]
  return out
}
