// Path normalisation before routing and ACL decisions, so `/admin` cannot be reached as
// `/%61dmin`, `//admin`, `/x/../admin` or `/x/%2e%2e/admin`. Encoded unreserved characters are
// decoded, dot segments resolved, slashes merged; encoded `/`, `\` and NUL are refused by default
// because back ends disagree on them. The query string is passed through untouched.

export const EncodedSlashModes = { REJECT: 'reject', KEEP: 'keep' } as const
export type EncodedSlashMode = (typeof EncodedSlashModes)[keyof typeof EncodedSlashModes]

export interface NormalizeOptions {
  /** `%2F` and `%5C` in the path: refuse (400) or keep encoded. Default reject. */
  encodedSlashes?: EncodedSlashMode
  /** Merge `//` into `/`. Default true. */
  mergeSlashes?: boolean
}

export type NormalizeResult = { ok: true; path: string; query: string } | { ok: false; reason: string }

const HEX = '0123456789ABCDEF'
// RFC 3986 pchar minus pct-encoded: unreserved / sub-delims / ":" / "@", plus "/" as separator.
const PATH_CHAR = new Uint8Array(128)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") PATH_CHAR[c.charCodeAt(0)] = 1
const UNRESERVED = new Uint8Array(128)
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1
// Query: pchar / "/" / "?" plus "%"; we only check for bytes that are never valid.
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

function fail(reason: string): NormalizeResult {
  return { ok: false, reason }
}

/** Normalises an origin-form request target (`/path?query`). */
export function normalizeTarget(target: string, options: NormalizeOptions = {}): NormalizeResult {
  if (target.length === 0 || target.charCodeAt(0) !== 47 /* / */) return fail('request target must start with "/"')
  const q = target.indexOf('?')
  const rawPath = q < 0 ? target : target.slice(0, q)
  const query = q < 0 ? '' : target.slice(q)
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i)
    if (c <= 32 || c >= 127 || c === 35 /* # */ || c === 34 || c === 60 || c === 62 || c === 92 || c === 94 || c === 96 || c === 123 || c === 124 || c === 125) {
      return fail(`invalid character 0x${c.toString(16)} in query`)
    }
  }
  if (rawPath.indexOf('%') < 0 && !rawPath.includes('//') && !rawPath.includes('/.')) {
    // Usual case: nothing to decode, no empty or dot segments, so normalising is the identity and
    // only the characters need checking (same check as below).
    for (let i = 0; i < rawPath.length; i++) {
      const c = rawPath.charCodeAt(i)
      if (c >= 128 || PATH_CHAR[c] !== 1) return fail(`invalid character 0x${c.toString(16)} in path`)
    }
    return { ok: true, path: rawPath, query }
  }
  const keepSlashes = options.encodedSlashes === 'keep'
  let decoded = ''
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i)
    if (c === 37 /* % */) {
      const h = hexVal(rawPath.charCodeAt(i + 1))
      const l = hexVal(rawPath.charCodeAt(i + 2))
      if (h < 0 || l < 0) return fail('malformed percent-encoding in path')
      const byte = h * 16 + l
      i += 2
      if (byte === 0) return fail('encoded NUL in path')
      if (byte === 0x2f || byte === 0x5c) {
        if (!keepSlashes) return fail('encoded "/" or "\\" in path')
        decoded += `%${HEX[h]}${HEX[l]}`
        continue
      }
      if (byte === 0x25) {
        // "%25" followed by an encoded dot or slash is a double-encoding attack on back ends that
        // decode twice; a plain "%25" (a literal percent sign) is fine.
        const next = rawPath.slice(i + 1, i + 3).toLowerCase()
        if (next === '2e' || next === '2f' || next === '5c' || next === '00') return fail('double-encoded "." or "/" in path')
      }
      if (byte < 128 && UNRESERVED[byte] === 1) decoded += String.fromCharCode(byte)
      else decoded += `%${HEX[h]}${HEX[l]}`
      continue
    }
    if (c >= 128 || PATH_CHAR[c] !== 1) return fail(`invalid character 0x${c.toString(16)} in path`)
    decoded += rawPath[i]
  }
  const segments = decoded.split('/')
  const out: string[] = []
  const merge = options.mergeSlashes !== false
  // segments[0] is always '' (leading slash).
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string
    const last = i === segments.length - 1
    if (seg === '.') {
      if (last) out.push('')
      continue
    }
    if (seg === '..') {
      if (out.length === 0) return fail('path escapes the root with ".."')
      out.pop()
      if (last) out.push('')
      continue
    }
    if (seg === '' && merge && !last) continue
    out.push(seg)
  }
  return { ok: true, path: `/${out.join('/')}`, query }
}
