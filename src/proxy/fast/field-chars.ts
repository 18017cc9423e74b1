// Character checks of HTTP/1.1 heads (RFC 9110 5.1 token, 5.5 field-value), as loops over a table
// instead of regular expressions: the fast path checks every name and value of every head it reads
// or writes, most of them under 20 characters, where a RegExp call's fixed cost is most of the work.
// Each function answers exactly what the regular expression it replaced answered (see the tests).

/** tchar of RFC 9110 5.6.2 (`[!#$%&'*+\-.^_`|~0-9A-Za-z]`), as a lookup table. */
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1

/** Whether characters `from` to `to` (exclusive) of `s` are all tchar (true for an empty range). */
export function isTokenRange(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || TCHAR[c] !== 1) return false
  }
  return true
}

/** A non-empty token (a method or field name): `^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$`. */
export function isToken(s: string): boolean {
  return s.length > 0 && isTokenRange(s, 0, s.length)
}

/**
 * A field value that may be written as is: HTAB, visible ASCII, SP and obs-text (0x80-0xff); no
 * other control character, DEL, or character above 0xff (node refuses the same with ERR_INVALID_CHAR).
 * The complement of `/[^\t\x20-\x7e\x80-\xff]/`.
 */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 ? c !== 0x09 : c === 0x7f || c > 0xff) return false
  }
  return true
}

/** A non-empty request target of visible ASCII only: `^[\x21-\x7e]+$`. */
export function isVisibleAscii(s: string): boolean {
  const n = s.length
  if (n === 0) return false
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return false
  }
  return true
}

/**
 * Index of the CRLFCRLF that ends a head, searched from `from`; -1 when there is none yet. A byte
 * loop: a head is a few hundred bytes, and Buffer#indexOf costs a native call from its wrapper.
 */
export function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from + 3; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue
    if (buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i - 3
  }
  return -1
}

/**
 * Field names as peers usually spell them (lower case, Capitalised-Words, and `extra` spellings),
 * each mapped to its lower-case form: a known name needs no token check and no toLowerCase()
 * string, and the lower-case key is an internalised constant (a cheap property store).
 */
export function knownNames(names: readonly string[], extra: readonly string[] = []): Map<string, string> {
  const known = new Map<string, string>()
  for (const n of names) {
    known.set(n, n)
    known.set(n.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()), n)
  }
  for (const e of extra) known.set(e, e.toLowerCase())
  return known
}
