// Byte-level word counting for the fused word-count stage: tokenises whole-line chunks of UTF-8
// input on a one-byte separator and counts tokens in an open-addressing hash table keyed by the
// token bytes. Strings are created only for distinct tokens, when the table is drained.
//
// Meaning matches `chunk.toString('utf8').split('\n')` with one trailing '\r' stripped per line,
// then `line.split(sep)`: the separator and '\n' are ASCII, and a UTF-8 decoder never consumes an
// ASCII byte as part of a multi-byte sequence, so decoding a token's bytes alone gives the same
// string as decoding the line and splitting it. Distinct byte strings that decode to the same
// string (invalid UTF-8 becomes U+FFFD) are merged when draining.

const FNV_PRIME = 0x01000193

function hasHighByte(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((b[i] as number) >= 0x80) return true
  return false
}

/**
 * Slot layout in #slots (Int32, stride 8): hash, token length + 1 (0 = empty), arena offset, count,
 * bytes 0-3 and 4-7 of the token (little-endian, zero padded), 2 unused. Tokens of up to 8 bytes
 * are compared without touching the arena, which saves a cache miss per lookup of a rare word.
 */
const STRIDE = 8
/** Counts are int32: the owner drains the table before this many tokens. */
export const MAX_TOKENS_BEFORE_DRAIN = 2 ** 30

export class ByteWordTable {
  #slots = new Int32Array(STRIDE << 12)
  #mask = (1 << 12) - 1
  /** Slot of every entry in first-seen order (rebuilt on rehash). */
  #order = new Int32Array(1 << 11)
  /** 1 when the token has a byte >= 0x80 (decoded as UTF-8, else as latin1 = ASCII). */
  #wide = new Uint8Array(1 << 11)
  #n = 0
  #arena: Buffer = Buffer.allocUnsafe(1 << 16)
  #arenaLen = 0
  /** Lines seen (records of the text source). */
  lines = 0
  /** Tokens counted (after the empty-token filter, if any). */
  tokens = 0

  /** Rough heap bytes held (for the memory budget). */
  get bytes(): number {
    return this.#arenaLen + this.#n * 8 + this.#slots.length * 4
  }

  get size(): number {
    return this.#n
  }

  /**
   * Counts the tokens of `chunk` (one or more lines separated by '\n', no newline after the
   * last). `skipEmpty` drops empty tokens (a `w !== ''` filter).
   */
  addLines(chunk: Uint8Array, sep: number, skipEmpty: boolean): void {
    const buf = chunk
    const end = buf.length
    let slots = this.#slots
    let mask = this.#mask
    let arena = this.#arena
    let lines = 0
    let tokens = 0
    let i = 0
    for (;;) {
      const s = i
      let c = 0
      while (i < end) {
        c = buf[i] as number
        if (c === sep || c === 10) break
        i++
      }
      let len = i - s
      if (i >= end || c === 10) {
        lines++
        // A "\r\n" line ending: the '\r' is not part of the line.
        if (len > 0 && buf[i - 1] === 13) len--
      }
      if (len > 0 || !skipEmpty) {
        tokens++
        // The first 8 bytes, packed little-endian (zero padded), and a hash of them, the length
        // and any further bytes.
        let w0 = 0
        let w1 = 0
        if (len >= 4) {
          w0 = (buf[s] as number) | ((buf[s + 1] as number) << 8) | ((buf[s + 2] as number) << 16) | ((buf[s + 3] as number) << 24)
          if (len >= 8) w1 = (buf[s + 4] as number) | ((buf[s + 5] as number) << 8) | ((buf[s + 6] as number) << 16) | ((buf[s + 7] as number) << 24)
          else for (let j = 4; j < len; j++) w1 |= (buf[s + j] as number) << ((j - 4) << 3)
        } else {
          for (let j = 0; j < len; j++) w0 |= (buf[s + j] as number) << (j << 3)
        }
        let h = Math.imul(w0 ^ len, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b)
        for (let j = 8; j < len; j++) h = Math.imul(h ^ (buf[s + j] as number), FNV_PRIME)
        h ^= h >>> 15
        h = Math.imul(h, 0x2c1b3c6d)
        h ^= h >>> 13
        let p = (h & mask) * STRIDE
        for (;;) {
          const l1 = slots[p + 1] as number
          if (l1 === 0) {
            // New token: copy its bytes into the arena.
            if (this.#arenaLen + len > arena.length) arena = this.#growArena(len)
            const o = this.#arenaLen
            for (let j = 0; j < len; j++) arena[o + j] = buf[s + j] as number
            this.#arenaLen = o + len
            slots[p] = h
            slots[p + 1] = len + 1
            slots[p + 2] = o
            slots[p + 3] = 1
            slots[p + 4] = w0
            slots[p + 5] = w1
            this.#insert(p, hasHighByte(buf, s, s + len))
            if (this.#n * 4 > mask * 3) {
              this.#rehash()
              slots = this.#slots
              mask = this.#mask
            }
            break
          }
          if (slots[p] === h && l1 === len + 1 && slots[p + 4] === w0 && slots[p + 5] === w1) {
            const o = slots[p + 2] as number
            let j = 8
            while (j < len && arena[o + j] === buf[s + j]) j++
            if (j >= len) {
              slots[p + 3] = (slots[p + 3] as number) + 1
              break
            }
          }
          p = (p + STRIDE) & (mask * STRIDE + STRIDE - 1)
        }
      }
      if (i >= end) break
      i++
    }
    this.lines += lines
    this.tokens += tokens
  }

  #insert(slot: number, wide: boolean): void {
    const n = this.#n
    if (n === this.#order.length) {
      const order = new Int32Array(n * 2)
      order.set(this.#order)
      this.#order = order
      const w = new Uint8Array(n * 2)
      w.set(this.#wide)
      this.#wide = w
    }
    this.#order[n] = slot
    this.#wide[n] = wide ? 1 : 0
    this.#n = n + 1
  }

  #growArena(need: number): Buffer {
    const bigger = Buffer.allocUnsafe(Math.max(this.#arena.length * 2, this.#arenaLen + need))
    this.#arena.copy(bigger, 0, 0, this.#arenaLen)
    this.#arena = bigger
    return bigger
  }

  #rehash(): void {
    const old = this.#slots
    const cap = (this.#mask + 1) * 2
    const mask = cap - 1
    const slots = new Int32Array(cap * STRIDE)
    const order = this.#order
    for (let e = 0; e < this.#n; e++) {
      const q = order[e] as number
      const h = old[q] as number
      let p = (h & mask) * STRIDE
      while (slots[p + 1] !== 0) p = (p + STRIDE) & (cap * STRIDE - 1)
      slots[p] = h
      slots[p + 1] = old[q + 1] as number
      slots[p + 2] = old[q + 2] as number
      slots[p + 3] = old[q + 3] as number
      slots[p + 4] = old[q + 4] as number
      slots[p + 5] = old[q + 5] as number
      order[e] = p
    }
    this.#slots = slots
    this.#mask = mask
  }

  /**
   * Calls `each(token, count)` for every distinct token string in first-seen order, then empties
   * the table. Byte strings that decode to the same string are merged into the first one.
   */
  drain(each: (token: string, count: number) => void): void {
    const n = this.#n
    const arena = this.#arena
    const slots = this.#slots
    const order = this.#order
    let anyWide = false
    for (let e = 0; e < n; e++) if (this.#wide[e] === 1) { anyWide = true; break }
    const keyOf = (e: number): string => {
      const q = order[e] as number
      const o = slots[q + 2] as number
      const l = (slots[q + 1] as number) - 1
      return this.#wide[e] === 1 ? arena.toString('utf8', o, o + l) : arena.toString('latin1', o, o + l)
    }
    const countOf = (e: number): number => slots[(order[e] as number) + 3] as number
    if (!anyWide) {
      for (let e = 0; e < n; e++) each(keyOf(e), countOf(e))
    } else {
      const merged = new Map<string, number>()
      for (let e = 0; e < n; e++) {
        const k = keyOf(e)
        merged.set(k, (merged.get(k) ?? 0) + countOf(e))
      }
      for (const [k, c] of merged) each(k, c)
    }
    this.#n = 0
    this.#arenaLen = 0
    slots.fill(0)
  }
}
