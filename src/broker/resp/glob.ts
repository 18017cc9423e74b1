// Redis glob patterns (PSUBSCRIBE, PUBSUB CHANNELS): matching with the semantics of Redis's
// stringmatchlen (util.c): `*`, `?`, `[...]`, `[^...]`, ranges (either order, bytes compared as
// signed chars as the C code does), `\` escapes inside and outside brackets, an unterminated `[`
// read as if closed. And the subject a pattern subscribes to in the broker's index: the literal
// tokens before the first special character, then `>`; the glob itself is then checked per message.
import { channelToSubject } from './channel.js'

const STAR = 42
const QUESTION = 63
const OPEN = 91
const CLOSE = 93
const CARET = 94
const BACKSLASH = 92
const DASH = 45
const DOT = 46
/** As Redis: deeper recursion (many `*`) is no match rather than a stack overflow. */
const MAX_NESTING = 1000

function signed(c: number): number {
  return c >= 128 ? c - 256 : c
}

interface MatchState {
  skipLonger: boolean
}

function match(p: Buffer, pi: number, pEnd: number, s: Buffer, si: number, sEnd: number, st: MatchState, nesting: number): boolean {
  if (nesting > MAX_NESTING) return false
  while (pi < pEnd && si < sEnd) {
    const c = p[pi] as number
    switch (c) {
      case STAR: {
        while (pi + 1 < pEnd && p[pi + 1] === STAR) pi++
        if (pi + 1 === pEnd) return true
        while (si < sEnd) {
          if (match(p, pi + 1, pEnd, s, si, sEnd, st, nesting + 1)) return true
          if (st.skipLonger) return false
          si++
        }
        // No match for the rest anywhere in the rest of the string: earlier `*` cannot help either.
        st.skipLonger = true
        return false
      }
      case QUESTION:
        si++
        break
      case OPEN: {
        pi++
        const not = pi < pEnd && p[pi] === CARET
        if (not) pi++
        let hit = false
        const sc = s[si] as number
        for (;;) {
          if (pi < pEnd && p[pi] === BACKSLASH && pEnd - pi >= 2) {
            pi++
            if (p[pi] === sc) hit = true
          } else if (pi < pEnd && p[pi] === CLOSE) {
            break
          } else if (pi >= pEnd) {
            pi--
            break
          } else if (pEnd - pi >= 3 && p[pi + 1] === DASH) {
            let lo = signed(p[pi] as number)
            let hi = signed(p[pi + 2] as number)
            if (lo > hi) [lo, hi] = [hi, lo]
            const v = signed(sc)
            pi += 2
            if (v >= lo && v <= hi) hit = true
          } else if (p[pi] === sc) {
            hit = true
          }
          pi++
        }
        if (not) hit = !hit
        if (!hit) return false
        si++
        break
      }
      case BACKSLASH:
        if (pEnd - pi >= 2) pi++
        if (p[pi] !== s[si]) return false
        si++
        break
      default:
        if (c !== s[si]) return false
        si++
    }
    pi++
    if (si === sEnd) {
      while (pi < pEnd && p[pi] === STAR) pi++
      break
    }
  }
  return pi === pEnd && si === sEnd
}

/** Does `channel` match the Redis glob `pattern`? */
export function globMatch(pattern: Buffer, channel: Buffer): boolean {
  return match(pattern, 0, pattern.length, channel, 0, channel.length, { skipLonger: false }, 0)
}

export interface PatternPlan {
  /** The subject the pattern subscribes to in the broker's index. */
  subject: string
  /** Whether every message on `subject` matches the glob (no per-message check needed). */
  exact: boolean
}

/**
 * The subscription subject for a glob. A glob without special characters is its channel's subject;
 * `<tokens>.*` is `<tokens>.>` (Redis `*` also matches dots, as `>` does); anything else
 * subscribes to `<literal tokens before the first special character>.>` (or `>`) and is checked
 * per message.
 */
export function planPattern(pattern: Buffer): PatternPlan {
  const literal: number[] = []
  let i = 0
  const n = pattern.length
  let special = -1
  while (i < n) {
    const c = pattern[i] as number
    if (c === STAR || c === QUESTION || c === OPEN) {
      special = i
      break
    }
    if (c === BACKSLASH && i + 1 < n) i++
    literal.push(pattern[i] as number)
    i++
  }
  if (special < 0) return { subject: channelToSubject(Buffer.from(literal)), exact: true }
  let onlyStars = true
  for (let j = special; j < n; j++) if (pattern[j] !== STAR) onlyStars = false
  const lastDot = literal.lastIndexOf(DOT)
  // Not exact even for `*`: Redis's `*` does not match the empty channel (subject `%`).
  if (lastDot < 0) return { subject: '>', exact: false }
  const prefix = channelToSubject(Buffer.from(literal.slice(0, lastDot)))
  return { subject: `${prefix}.>`, exact: onlyStars && lastDot === literal.length - 1 }
}
