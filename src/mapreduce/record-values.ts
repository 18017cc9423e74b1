// The values a record may hold, and how they cross every serialisation boundary unchanged.
// Shuffle and spill frames are msgpack (record-frames.ts), which has no Map with non-string keys, Set,
// typed array, RegExp, Error, -0 or lone surrogate: records holding one are rewritten before
// packing into extension types that restore them exactly. Cache, broadcast, checkpoint and task
// results travel v8-serialised, which keeps those but silently drops prototypes and an Error's own
// properties. Both paths refuse, naming the type, what neither can carry: functions, symbols,
// class instances, cycles. A record of plain data costs one walk that allocates nothing.
import { addExtension } from 'msgpackr'
import { JobError, JobErrorCodes } from './errors.js'
import { Utf16KeyedObject, Utf16String } from './utf16-strings.js'

/** Deeper than this is refused (it is almost always a cycle; msgpack would overflow the stack). */
const MAX_DEPTH = 1000

const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const
type Typed = InstanceType<(typeof TYPED)[number]>
const ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError] as const
const ERROR_PROTOS = new Set<unknown>(ERRORS.map((E) => E.prototype))
/** Own properties an Error may have; v8 serialisation carries no others. */
const ERROR_OWN = new Set(['message', 'stack', 'cause'])

class PackedMap { constructor(readonly entries: unknown[]) {} }
class PackedSet { constructor(readonly values: unknown[]) {} }
class PackedTyped { constructor(readonly kind: number, readonly bytes: Buffer) {} }
class PackedRegExp { constructor(readonly source: string, readonly flags: string) {} }
class PackedError { constructor(readonly fields: unknown[]) {} }
class PackedBigInt { constructor(readonly text: string) {} }
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero()

// Extension type codes 1-100 are the application's (msgpackr reserves 101-127); 61-62 are utf16-strings.ts's.
addExtension({ Class: PackedMap, type: 63, write: (m: PackedMap) => m.entries, read: (e: unknown[]) => { const m = new Map(); for (let i = 0; i < e.length; i += 2) m.set(e[i], e[i + 1]); return m } })
addExtension({ Class: PackedSet, type: 64, write: (s: PackedSet) => s.values, read: (v: unknown[]) => new Set(v) })
addExtension({
  Class: PackedTyped,
  type: 65,
  write: (t: PackedTyped) => [t.kind, t.bytes],
  read: ([kind, bytes]: [number, Uint8Array]) => {
    const C = TYPED[kind] as (typeof TYPED)[0]
    const copy = new ArrayBuffer(bytes.byteLength)
    new Uint8Array(copy).set(bytes)
    return new C(copy)
  },
})
addExtension({ Class: PackedRegExp, type: 66, write: (r: PackedRegExp) => [r.source, r.flags], read: ([s, f]: [string, string]) => new RegExp(s, f) })
addExtension({
  Class: PackedError,
  type: 67,
  write: (e: PackedError) => e.fields,
  read: ([kind, message, stack, hasCause, cause]: [number, string, string | undefined, boolean, unknown]) => {
    const E = ERRORS[kind] as ErrorConstructor
    const err = hasCause ? new E(message, { cause }) : new E(message)
    if (stack === undefined) delete err.stack
    else Object.defineProperty(err, 'stack', { value: stack, writable: true, configurable: true, enumerable: false })
    return err
  },
})
addExtension({ Class: PackedBigInt, type: 68, write: (b: PackedBigInt) => b.text, read: (t: string) => BigInt(t) })
addExtension({ Class: NegativeZero, type: 69, write: () => 0, read: () => -0 })

/** Names a value for error messages: `function`, `symbol`, `class Point`, ... */
function typeName(v: unknown): string {
  if (typeof v === 'function') return `function${v.name === '' ? '' : ` ${v.name}`}`
  if (typeof v !== 'object' || v === null) return typeof v
  const ctor = (v as { constructor?: { name?: unknown } }).constructor
  return typeof ctor?.name === 'string' && ctor.name !== '' ? `class ${ctor.name}` : 'object with a custom prototype'
}

const isPlain = (proto: unknown): boolean => proto === Object.prototype || proto === null

/** Why an Error cannot cross (not a standard class, or own properties v8 drops), or null. */
function errorProblem(e: Error): string | null {
  if (!ERROR_PROTOS.has(Object.getPrototypeOf(e))) return `${typeName(e)} (an Error subclass; only the standard Error classes keep their class)`
  for (const k of Object.getOwnPropertyNames(e)) if (!ERROR_OWN.has(k)) return `${typeName(e)} with own property "${k}" (an Error carries only message, stack and cause)`
  return null
}

const AS_IS = 0
const REWRITE = 1
const REFUSED = 2

/**
 * Walks `v`: AS_IS when msgpack carries it unchanged as it is, REWRITE when `pack` must rewrite
 * it first, REFUSED when no path can carry it (`describe` then says what and where). Allocates
 * nothing: this runs on every shuffle batch.
 */
function classify(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string': return v.isWellFormed() ? AS_IS : REWRITE
    case 'number': return v !== 0 || 1 / v > 0 ? AS_IS : REWRITE
    case 'boolean': case 'undefined': return AS_IS
    case 'bigint': return REWRITE
    case 'function': case 'symbol': return REFUSED
  }
  if (v === null) return AS_IS
  if (depth > MAX_DEPTH) return REFUSED
  const o = v as object
  let r = AS_IS
  if (Array.isArray(o)) {
    if (Object.getPrototypeOf(o) !== Array.prototype) return REFUSED
    for (let i = 0; i < o.length; i++) {
      const c = classify(o[i], depth + 1)
      if (c === REFUSED) return REFUSED
      if (c === REWRITE) r = REWRITE
    }
    return r
  }
  const proto = Object.getPrototypeOf(o) as unknown
  if (isPlain(proto)) {
    const rec = o as Record<string, unknown>
    for (const k in rec) {
      const c = classify(rec[k], depth + 1)
      if (c === REFUSED) return REFUSED
      // msgpackr reads a `__proto__` key back as `__proto_` (its guard against prototype pollution).
      if (c === REWRITE || !k.isWellFormed() || k === '__proto__') r = REWRITE
    }
    return r
  }
  if (proto === Date.prototype || Buffer.isBuffer(o)) return AS_IS
  if (proto === Map.prototype) {
    for (const [k, x] of o as Map<unknown, unknown>) if (classify(k, depth + 1) === REFUSED || classify(x, depth + 1) === REFUSED) return REFUSED
    return REWRITE
  }
  if (proto === Set.prototype) {
    for (const x of o as Set<unknown>) if (classify(x, depth + 1) === REFUSED) return REFUSED
    return REWRITE
  }
  if (proto === RegExp.prototype) return REWRITE
  if (ArrayBuffer.isView(o) && TYPED.some((C) => proto === C.prototype)) return REWRITE
  if (o instanceof Error) return errorProblem(o) !== null || classify((o as { cause?: unknown }).cause, depth + 1) === REFUSED ? REFUSED : REWRITE
  return REFUSED
}

/** The first value `classify` refuses in `v`, as [path, what]; the slow path of an error only. */
function describe(v: unknown, path: string, depth: number): [string, string] | null {
  if (classify(v, depth) !== REFUSED) return null
  if (typeof v === 'function' || typeof v === 'symbol') return [path, typeName(v)]
  if (depth > MAX_DEPTH) return [path, `value nested deeper than ${MAX_DEPTH} levels (a cycle?)`]
  const o = v as object
  const proto = Object.getPrototypeOf(o) as unknown
  const inner = (x: unknown, p: string): [string, string] | null => describe(x, p, depth + 1)
  if (Array.isArray(o) && proto === Array.prototype) {
    for (let i = 0; i < o.length; i++) { const d = inner(o[i], `${path}[${i}]`); if (d !== null) return d }
  } else if (isPlain(proto)) {
    const rec = o as Record<string, unknown>
    for (const k in rec) { const d = inner(rec[k], `${path}.${k}`); if (d !== null) return d }
  } else if (proto === Map.prototype) {
    for (const [k, x] of o as Map<unknown, unknown>) { const d = inner(k, `${path}<key>`) ?? inner(x, `${path}<value>`); if (d !== null) return d }
  } else if (proto === Set.prototype) {
    for (const x of o as Set<unknown>) { const d = inner(x, `${path}<member>`); if (d !== null) return d }
  } else if (o instanceof Error) {
    return errorProblem(o) === null ? inner((o as { cause?: unknown }).cause, `${path}.cause`) : [path, errorProblem(o) as string]
  }
  return [path, typeName(o)]
}

function refuse(values: unknown, where: string): never {
  const [path, what] = describe(values, '', 0) ?? ['', 'value']
  throw new JobError(JobErrorCodes.UNSUPPORTED_VALUE, `${where}: a record holds a ${what} at ${path === '' ? 'the top level' : path}, which cannot cross a serialisation boundary unchanged; use plain data (objects, arrays, Map, Set, Date, typed arrays, RegExp, Error, bigint)`)
}

/** A copy of `v` whose every value msgpack carries, through the extension types above. */
function pack(v: unknown): unknown {
  switch (typeof v) {
    case 'string': return v.isWellFormed() ? v : new Utf16String(v)
    case 'number': return v === 0 && 1 / v < 0 ? NEGATIVE_ZERO : v
    case 'bigint': return new PackedBigInt(v.toString())
  }
  if (typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) return v.map(pack)
  const proto = Object.getPrototypeOf(v) as unknown
  if (isPlain(proto)) {
    const rec = v as Record<string, unknown>
    const keys = Object.keys(rec)
    // An own `__proto__` key travels as entries too: msgpackr would rename it, Utf16KeyedObject restores it with defineProperty.
    if (keys.every((k) => k.isWellFormed() && k !== '__proto__')) {
      const out: Record<string, unknown> = {}
      for (const k of keys) Object.defineProperty(out, k, { value: pack(rec[k]), enumerable: true, writable: true, configurable: true })
      return out
    }
    return new Utf16KeyedObject(keys.map((k) => [pack(k), pack(rec[k])]))
  }
  if (Buffer.isBuffer(v) || proto === Date.prototype) return v
  if (proto === Map.prototype) { const e: unknown[] = []; for (const [k, x] of v as Map<unknown, unknown>) e.push(pack(k), pack(x)); return new PackedMap(e) }
  if (proto === Set.prototype) return new PackedSet([...(v as Set<unknown>)].map(pack))
  if (proto === RegExp.prototype) return new PackedRegExp((v as RegExp).source, (v as RegExp).flags)
  if (ArrayBuffer.isView(v)) {
    const t = v as Typed
    return new PackedTyped(TYPED.findIndex((C) => proto === C.prototype), Buffer.from(t.buffer, t.byteOffset, t.byteLength))
  }
  const e = v as Error
  const hasCause = Object.hasOwn(e, 'cause')
  return new PackedError([ERRORS.findIndex((E) => proto === E.prototype), e.message, e.stack, hasCause, hasCause ? pack(e.cause) : undefined])
}

/**
 * Records ready for msgpack (record-frames.ts): `values` itself when every value packs as it is, else a
 * rewritten copy. Throws ERR_JOB_UNSUPPORTED_VALUE, naming the type and where it is, for values
 * that cannot cross unchanged.
 */
export function packableRecords<T>(values: T, where = 'shuffle'): T {
  const c = classify(values, 0)
  if (c === AS_IS) return values
  if (c === REFUSED) refuse(values, where)
  return pack(values) as T
}

/**
 * Checks records that travel v8-serialised (cache, broadcast, checkpoint, task results): the same
 * values are accepted as on the msgpack path, so every path carries the same set unchanged.
 */
export function checkRecords(values: unknown, where: string): void {
  if (classify(values, 0) === REFUSED) refuse(values, where)
}
