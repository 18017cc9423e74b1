// Seeded PRNG for reproducible fault tests (mulberry32).
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A payload derived from the sequence so a reader can verify it without keeping copies. */
export function payloadFor(seq: number, len: number): Uint8Array {
  const out = new Uint8Array(len)
  let x = (seq * 2654435761) >>> 0
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}
