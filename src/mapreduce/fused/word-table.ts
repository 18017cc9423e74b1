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
 * Slot layout in #slots (Int32, stride 8 = 32 bytes): hash, token length + 1 (0 = empty), count,
 * bytes 0-15 of the token as four little-endian words (zero padded), entry number (first-seen
 * order). Tokens of up to 16 bytes are compared without touching the arena, so a lookup touches
 * one slot only. Per-entry data lives in entry order, so draining and rehashing sweep the slots
 * sequentially instead of visiting them in entry order (a cache miss per entry).
 */
const STRIDE = 8
const INLINE = 16
/** Counts are int32: the owner drains the table before this many tokens. */
export const MAX_TOKENS_BEFORE_DRAIN = 2 ** 30
/**
 * Tokens are hashed a batch at a time, then the batch's home slots are read in a tight loop
 * before any is updated: those loads are independent, so the CPU keeps many cache misses in
 * flight (the zipf tail of a large vocabulary misses on most lookups), where a lookup right
 * after each token's scan waits for its miss alone.
 */
const BATCH = 512
/** Per batched token: start, length, the four packed words. */
const TOK = 6
/** MASK[n]: the low n bytes of a word (n = 0..4). */
const MASK = Int32Array.of(0, 0xff, 0xffff, 0xffffff, -1)

const load4 = (b: Uint8Array, o: number): number => (b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)

/** Bytes [s, s + n) of `b` (n <= 16) packed into tok[o + 2 .. o + 5] without reading past them. */
function packShort(b: Uint8Array, s: number, n: number, tok: Int32Array, o: number): void {
  tok[o + 2] = 0
  tok[o + 3] = 0
  tok[o + 4] = 0
  tok[o + 5] = 0
  for (let j = 0; j < n; j++) tok[o + 2 + (j >> 2)] = (tok[o + 2 + (j >> 2)] as number) | ((b[s + j] as number) << ((j & 3) << 3))
}

export class ByteWordTable {
  #slots: Int32Array
  #mask: number
  /** Arena offset of every entry in first-seen order (the arena is appended in that order). */
  #start = new Int32Array(1 << 11)
  /** 1 when the token has a byte >= 0x80 (decoded as UTF-8, else as latin1 = ASCII). */
  #wide = new Uint8Array(1 << 11)
  #anyWide = false
  #n = 0
  #arena: Buffer
  #arenaLen = 0
  readonly #hashes = new Int32Array(BATCH)
  readonly #tok = new Int32Array(BATCH * TOK)
  /** Sink for the prefetching loads, so they are not optimised away. */
  #touched = 0
  /** Lines seen (records of the text source). */
  lines = 0
  /** Tokens counted (after the empty-token filter, if any). */
  tokens = 0

  /** Starts with 2^slotsLog2 slots and an arena of 16 bytes per slot; both grow as needed. */
  constructor(slotsLog2 = 12) {
    this.#slots = new Int32Array(STRIDE << slotsLog2)
    this.#mask = (1 << slotsLog2) - 1
    this.#arena = Buffer.allocUnsafe(16 << slotsLog2)
  }

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
    const hashes = this.#hashes
    const tok = this.#tok
    let lines = 0
    let tokens = 0
    let i = 0
    let more = true
    while (more) {
      // Scan and hash up to BATCH tokens.
      let n = 0
      while (n < BATCH) {
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
          const o = n * TOK
          tok[o] = s
          tok[o + 1] = len
          if (s + INLINE <= end) {
            // Whole words are in the chunk: load them, then mask off bytes past the token.
            const m = len < INLINE ? len : INLINE
            tok[o + 2] = load4(buf, s) & (MASK[m < 4 ? m : 4] as number)
            tok[o + 3] = m > 4 ? load4(buf, s + 4) & (MASK[m < 8 ? m - 4 : 4] as number) : 0
            tok[o + 4] = m > 8 ? load4(buf, s + 8) & (MASK[m < 12 ? m - 8 : 4] as number) : 0
            tok[o + 5] = m > 12 ? load4(buf, s + 12) & (MASK[m - 12] as number) : 0
          } else packShort(buf, s, len < INLINE ? len : INLINE, tok, o)
          let h = Math.imul(tok[o + 2] as number, 0x9e3779b1) + Math.imul(tok[o + 3] as number, 0x85ebca6b) + Math.imul(tok[o + 4] as number, 0xc2b2ae35) + Math.imul((tok[o + 5] as number) ^ len, 0x27d4eb2f)
          for (let j = INLINE; j < len; j++) h = Math.imul(h ^ (buf[s + j] as number), FNV_PRIME)
          h ^= h >>> 15
          h = Math.imul(h, 0x2c1b3c6d)
          hashes[n++] = h ^ (h >>> 13)
        }
        if (i >= end) { more = false; break }
        i++
      }
      tokens += n
      this.#count(buf, n)
    }
    this.lines += lines
    this.tokens += tokens
  }

  /** Counts the `n` batched tokens of `buf`. */
  #count(buf: Uint8Array, n: number): void {
    const hashes = this.#hashes
    const tok = this.#tok
    let slots = this.#slots
    let mask = this.#mask
    let touched = 0
    for (let k = 0; k < n; k++) touched ^= slots[((hashes[k] as number) & mask) * STRIDE] as number
    this.#touched ^= touched
    for (let k = 0; k < n; k++) {
      const h = hashes[k] as number
      const o = k * TOK
      const len = tok[o + 1] as number
      const w0 = tok[o + 2] as number
      const w1 = tok[o + 3] as number
      const w2 = tok[o + 4] as number
      const w3 = tok[o + 5] as number
      let p = (h & mask) * STRIDE
      for (;;) {
        const l1 = slots[p + 1] as number
        if (l1 === 0) {
          this.#add(p, h, buf, o)
          if (this.#n * 4 > mask * 3) {
            this.#rehash()
            slots = this.#slots
            mask = this.#mask
          }
          break
        }
        if (slots[p] === h && l1 === len + 1 && slots[p + 3] === w0 && slots[p + 4] === w1 && slots[p + 5] === w2 && slots[p + 6] === w3 && (len <= INLINE || this.#tailEquals(this.#start[slots[p + 7] as number] as number, buf, tok[o] as number, len))) {
          slots[p + 2] = (slots[p + 2] as number) + 1
          break
        }
        p = (p + STRIDE) & (mask * STRIDE + STRIDE - 1)
      }
    }
  }

  #tailEquals(at: number, buf: Uint8Array, s: number, len: number): boolean {
    const arena = this.#arena
    for (let j = INLINE; j < len; j++) if (arena[at + j] !== buf[s + j]) return false
    return true
  }

  /** A new token in empty slot `p`, from batch entry `o`: its bytes also go to the arena (read back when draining). */
  #add(p: number, h: number, buf: Uint8Array, o: number): void {
    const tok = this.#tok
    const s = tok[o] as number
    const len = tok[o + 1] as number
    if (this.#arenaLen + len > this.#arena.length) this.#growArena(len)
    const arena = this.#arena
    const at = this.#arenaLen
    for (let j = 0; j < len; j++) arena[at + j] = buf[s + j] as number
    this.#arenaLen = at + len
    const slots = this.#slots
    slots[p] = h
    slots[p + 1] = len + 1
    slots[p + 2] = 1
    for (let j = 2; j < TOK; j++) slots[p + 1 + j] = tok[o + j] as number
    slots[p + 7] = this.#n
    this.#insert(at, hasHighByte(buf, s, s + len))
  }

  #insert(arenaOffset: number, wide: boolean): void {
    const n = this.#n
    // (One spare entry: drainBytes puts the arena's end after the last one.)
    if (n + 1 === this.#start.length) {
      const start = new Int32Array(n * 2)
      start.set(this.#start)
      this.#start = start
      const w = new Uint8Array(n * 2)
      w.set(this.#wide)
      this.#wide = w
    }
    this.#start[n] = arenaOffset
    this.#wide[n] = wide ? 1 : 0
    if (wide) this.#anyWide = true
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
    for (let q = 0; q < old.length; q += STRIDE) {
      if (old[q + 1] === 0) continue
      let p = ((old[q] as number) & mask) * STRIDE
      while (slots[p + 1] !== 0) p = (p + STRIDE) & (cap * STRIDE - 1)
      for (let j = 0; j < STRIDE; j++) slots[p + j] = old[q + j] as number
    }
    this.#slots = slots
    this.#mask = mask
  }

  /** `drainBytes` with every token as a string. */
  drain(each: (token: string, count: number) => void): void {
    this.drainBytes({ token: (key, at, len, count, text) => each(text ?? key.toString('latin1', at, at + len), count) })
  }

  /**
   * Hands every distinct token string to `sink` in first-seen order, then empties the table;
   * returns how many. An ASCII token comes as its bytes [at, at + len) of `key` and text null;
   * any other as its decoded text and that text's UTF-8 (so equal strings always give equal
   * bytes), with the counts of all byte strings that decode to it (invalid UTF-8 becomes U+FFFD)
   * merged into the first one.
   */
  drainBytes(sink: TokenSink): number {
    const n = this.#n
    const counts = new Int32Array(n)
    sweepCounts(this.#slots, counts)
    this.#start[n] = this.#arenaLen
    const texts = this.#anyWide ? this.#mergeWide(counts) : null
    const emitted = emitTokens(sink, this.#arena, this.#start, this.#wide, counts, texts)
    this.#n = 0
    this.#arenaLen = 0
    this.#anyWide = false
    return emitted
  }

  /**
   * The wide tokens' strings by entry, counts merged into the first entry of each string
   * (`counts` of later ones set to -1). Kept out of drainBytes: V8 compiles that loop smaller.
   */
  #mergeWide(counts: Int32Array | number[]): WideTexts {
    const first = new Map<string, number>()
    const texts: WideTexts = { text: new Map(), count: new Map() }
    for (let e = 0; e < this.#n; e++) {
      if (this.#wide[e] !== 1) continue
      const text = this.#arena.toString('utf8', this.#start[e] as number, this.#start[e + 1] as number)
      const f = first.get(text)
      if (f === undefined) {
        first.set(text, e)
        texts.text.set(e, text)
        texts.count.set(e, counts[e] as number)
      } else texts.count.set(f, (texts.count.get(f) as number) + (counts[e] as number))
    }
    return texts
  }
}

/** Decoded wide tokens by entry (first entry of each string only) and their merged counts. */
interface WideTexts {
  readonly text: Map<number, string>
  readonly count: Map<number, number>
}

// Each hot loop of a drain is a function of its own: V8 compiles a loop that gets hot (on-stack
// replacement) together with the code around it, and code that has not run yet has no type
// feedback, so a following loop in the same function would throw the compiled code away.

/** Entry counts from the slots (a sequential sweep), then empty slots. */
function sweepCounts(slots: Int32Array, counts: Int32Array): void {
  for (let p = 0; p < slots.length; p += STRIDE) if (slots[p + 1] !== 0) counts[slots[p + 7] as number] = slots[p + 2] as number
  slots.fill(0)
}

/** Hands the entries to `sink` in entry order; returns how many went out (wide ones merge). */
function emitTokens(sink: TokenSink, arena: Buffer, start: Int32Array, wide: Uint8Array, counts: Int32Array, texts: WideTexts | null): number {
  const n = counts.length
  let emitted = 0
  for (let e = 0; e < n; e++) {
    const at = start[e] as number
    if (wide[e] !== 1) {
      sink.token(arena, at, (start[e + 1] as number) - at, counts[e] as number, null)
      emitted++
    } else if (texts !== null) emitted += emitWide(texts, e, sink)
  }
  return emitted
}

/** Emits wide entry `e` if it is the first of its string: returns 1 if so, else 0. */
function emitWide(texts: WideTexts, e: number, sink: TokenSink): number {
  const text = texts.text.get(e)
  if (text === undefined) return 0
  const bytes = Buffer.from(text, 'utf8')
  sink.token(bytes, 0, bytes.length, texts.count.get(e) as number, text)
  return 1
}

/** Receives drained tokens (see ByteWordTable.drainBytes); `count` may pass int32 when merged. */
export interface TokenSink {
  token(key: Buffer, at: number, len: number, count: number, text: string | null): void
}
