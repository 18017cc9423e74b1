import { prng } from '../../../src/internal/prng.js'
/** Seeded PRNG for reproducible fault tests (mulberry32). */
export const rng = prng

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
