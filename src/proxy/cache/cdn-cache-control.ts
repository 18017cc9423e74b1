// CDN-Cache-Control (RFC 9213): a Cache-Control aimed at CDNs and reverse proxies like this one.
// It is a Structured Field Dictionary (RFC 8941 §3.2); when present, valid and non-empty it
// replaces Cache-Control and Expires for this cache's decisions (§2.2). Invalid: ignored whole.
import { parseCacheControl, type Directives } from './cache-control.js'
import type { HeaderMap } from './freshness.js'

const KEY_FIRST = /[a-z*]/
const KEY_CHAR = /[a-z0-9_\-.*]/
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/

type Bare = string | number | boolean

/** RFC 8941 §4.2 parser state over one field value. */
class Reader {
  i = 0
  constructor(readonly s: string) {}
  /** The current character (a method: TypeScript would narrow a property across `i++`). */
  c(): string | undefined {
    return this.s[this.i]
  }
  ows(): void {
    while (this.c() === ' ' || this.c() === '\t') this.i++
  }
  sp(): void {
    while (this.c() === ' ') this.i++
  }
  key(): string | undefined {
    const c = this.c()
    if (c === undefined || !KEY_FIRST.test(c)) return undefined
    const start = this.i++
    while (KEY_CHAR.test(this.c() ?? '')) this.i++
    return this.s.slice(start, this.i)
  }
  bare(): Bare | undefined {
    const c = this.c()
    if (c === undefined) return undefined
    if (c === '-' || (c >= '0' && c <= '9')) return this.number()
    if (c === '"') return this.string()
    if (c === '?') {
      const v = this.s[this.i + 1]
      this.i += 2
      return v === '1' ? true : v === '0' ? false : undefined
    }
    if (c === ':') {
      const end = this.s.indexOf(':', this.i + 1)
      if (end < 0 || !/^[A-Za-z0-9+/=]*$/.test(this.s.slice(this.i + 1, end))) return undefined
      this.i = end + 1
      return 'bytes'
    }
    if (c === '*' || /[A-Za-z]/.test(c)) {
      const start = this.i++
      while (TOKEN_CHAR.test(this.c() ?? '')) this.i++
      return this.s.slice(start, this.i)
    }
    return undefined
  }
  number(): number | undefined {
    const m = /^-?(\d{1,15})(\.\d{1,3})?/.exec(this.s.slice(this.i))
    if (m === null || (m[2] !== undefined && (m[1] as string).length > 12)) return undefined
    this.i += m[0].length
    // A decimal is no integer: max-age=1.5 is the wrong type, kept apart by returning NaN.
    return m[2] === undefined ? Number(m[0]) : Number.NaN
  }
  string(): string | undefined {
    let out = ''
    this.i++
    for (let c = this.c(); c !== undefined; c = this.c()) {
      this.i++
      if (c === '\\') {
        const n = this.c()
        if (n !== '"' && n !== '\\') return undefined
        out += n
        this.i++
      } else if (c === '"') return out
      else if (c < ' ' || c > '~') return undefined
      else out += c
    }
    return undefined
  }
  params(): boolean {
    while (this.c() === ';') {
      this.i++
      this.sp()
      if (this.key() === undefined) return false
      if (this.c() === '=') {
        this.i++
        if (this.bare() === undefined) return false
      }
    }
    return true
  }
}

/** RFC 8941 Dictionary; undefined when the value is not one (then the whole field is ignored). */
export function parseSfDictionary(value: string): Map<string, Bare> | undefined {
  const r = new Reader(value.trim())
  const out = new Map<string, Bare>()
  if (r.s === '') return out
  for (;;) {
    const k = r.key()
    if (k === undefined) return undefined
    let v: Bare = true
    if (r.c() === '=') {
      r.i++
      if (r.c() === '(') return undefined // inner lists carry nothing a cache directive uses
      const b = r.bare()
      if (b === undefined) return undefined
      v = b
    }
    if (!r.params()) return undefined
    out.set(k, v)
    r.ows()
    if (r.c() === undefined) return out
    if (r.c() !== ',') return undefined
    r.i++
    r.ows()
    if (r.c() === undefined) return undefined
  }
}

/** The directives this cache follows for a response, and the Expires it may consult. */
export interface ResponseControl {
  cc: Directives
  expires: string | undefined
}

/**
 * RFC 9213 §2.2: a valid, non-empty CDN-Cache-Control replaces Cache-Control and Expires. Its
 * integer values become delta-seconds text; other types of a value make that directive invalid.
 */
export function responseControl(res: HeaderMap): ResponseControl {
  const cdn = res['cdn-cache-control']
  if (cdn !== undefined) {
    const d = parseSfDictionary(cdn)
    if (d !== undefined && d.size > 0) {
      const cc: Directives = new Map()
      for (const [k, v] of d) {
        if (v === true) cc.set(k, true)
        else if (typeof v === 'number' && Number.isInteger(v)) cc.set(k, String(v))
        else cc.set(k, 'invalid')
      }
      return { cc, expires: undefined }
    }
  }
  return { cc: parseCacheControl(res['cache-control']), expires: res['expires'] }
}
