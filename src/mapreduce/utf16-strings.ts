// msgpack carries strings as UTF-8, which has no encoding for a lone UTF-16 surrogate: msgpackr
// writes U+FFFD instead, so a record holding one (a string cut in the middle of a surrogate pair,
// say) would come back changed after a shuffle or spill, silently. Records that hold such a string
// are rewritten before packing so those strings travel as raw UTF-16 code units in a msgpack
// extension; every other record is packed as it is, after one walk that allocates nothing.
import { addExtension } from 'msgpackr'

/** A string that is not well-formed UTF-16, carried as its UTF-16LE code units. */
export class Utf16String {
  constructor(readonly value: string) {}
}

/** A plain object with a key that is not well-formed UTF-16, carried as [key, value] entries. */
export class Utf16KeyedObject {
  constructor(readonly entries: Array<[unknown, unknown]>) {}
}

// Extension type codes 1-100 are the application's (msgpackr reserves 101-127).
addExtension({
  Class: Utf16String,
  type: 61,
  pack: (s: Utf16String) => Buffer.from(s.value, 'utf16le'),
  unpack: (b: Buffer) => b.toString('utf16le'),
})
addExtension({
  Class: Utf16KeyedObject,
  type: 62,
  write: (o: Utf16KeyedObject) => o.entries,
  read: (entries: Array<[unknown, unknown]>) => {
    const out: Record<string, unknown> = {}
    // defineProperty, so a '__proto__' key stays a key and never sets the prototype.
    for (const [k, v] of entries) Object.defineProperty(out, k as string, { value: v, enumerable: true, writable: true, configurable: true })
    return out
  },
})

/** Returns `value` itself when all its strings are well-formed, else a copy safe to msgpack. */
export function protectLoneSurrogates<T>(value: T): T {
  return wellFormed(value) ? value : (protect(value) as T)
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

function wellFormed(v: unknown): boolean {
  if (typeof v === 'string') return v.isWellFormed()
  if (typeof v !== 'object' || v === null) return true
  if (Array.isArray(v)) {
    for (const x of v) if (!wellFormed(x)) return false
    return true
  }
  if (v instanceof Map) {
    for (const [k, x] of v) if (!wellFormed(k) || !wellFormed(x)) return false
    return true
  }
  if (v instanceof Set) {
    for (const x of v) if (!wellFormed(x)) return false
    return true
  }
  if (isPlainObject(v)) {
    // An own `__proto__` key: msgpackr reads it back as `__proto_`, so it travels as entries too.
    for (const k in v) if (!k.isWellFormed() || k === '__proto__' || !wellFormed(v[k])) return false
  }
  return true
}

function protect(v: unknown): unknown {
  if (typeof v === 'string') return v.isWellFormed() ? v : new Utf16String(v)
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) return v.map(protect)
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [protect(k), protect(x)]))
  if (v instanceof Set) return new Set([...v].map(protect))
  if (!isPlainObject(v)) return v
  const keys = Object.keys(v)
  if (keys.every((k) => k.isWellFormed() && k !== '__proto__')) {
    const out: Record<string, unknown> = {}
    for (const k of keys) out[k] = protect(v[k])
    return out
  }
  return new Utf16KeyedObject(keys.map((k) => [protect(k), protect(v[k])]))
}
