// Estimates the V8 heap plus off-heap bytes held by in-memory records (the partition cache budget),
// in the manner of Spark's SizeEstimator: walk a sample of records with V8's 64-bit object layout
// and extrapolate. Constants are calibrated by bench/mapreduce/size-estimate-calibrate.ts.

/**
 * Layout constants for Node 20 (V8 11.3, x64/arm64, pointer compression off: 8-byte tagged slots,
 * 32-bit Smis). Byte sizes; off-heap figures include glibc malloc chunk overhead.
 */
const LAYOUT = {
  slot: 8,
  heapNumber: 16, // map + float64: every double not stored in a packed double array
  stringHeader: 16, // map + hash (4) + length (4)
  objectHeader: 24, // map + properties + elements
  emptyObjectSlots: 4, // `{}` reserves four in-object fields; literals and classes get exactly n
  propertyArrayHeader: 16, // out-of-object fields live in a PropertyArray (map + length)
  dictionaryAfterKeys: 128, // beyond this, assume a NameDictionary (3 slots per entry, load 1/2)
  arrayHeader: 32, // JSArray: map + properties + elements + length
  fixedArrayHeader: 16, // map + length (FixedArray, FixedDoubleArray, ByteArray)
  typedArray: 104, // JSTypedArray incl. two embedder fields
  onHeapTypedArrayMaxBytes: 64, // V8's typed_array_max_size_in_heap
  arrayBuffer: 80, // JSArrayBuffer incl. two embedder fields
  // BackingStore (C++), its shared_ptr control block and the ArrayBufferExtension, each malloc'd
  backingStoreOverhead: 208,
  mallocHeader: 8, // per-chunk size word; chunks are 16-byte aligned
  collection: 32, // JSMap/JSSet: map + properties + elements + table
  hashTableHeader: 16 + 3 * 8, // FixedArray header + element, deleted and bucket counts
  date: 96, // JSDate: value + 7 cached fields
  bigintHeader: 16, // map + bitfield (sign, length); then 8 bytes per 64-bit digit
  closure: 64, // JSFunction; its shared code and context are not charged
} as const

/** Records sampled per partition (all of them below this); Spark uses a similar scale. */
const SAMPLE_RECORDS = 200
/** Values walked per sampled record before the rest are extrapolated (bounds cost of huge records). */
const MAX_NODES_PER_RECORD = 4096
/** Wider arrays, maps, sets and objects have only this many children walked, the rest scaled. */
const CHILD_SAMPLE = 64

const align8 = (n: number): number => Math.ceil(n / 8) * 8
const mallocBytes = (n: number): number => Math.max(32, Math.ceil((n + LAYOUT.mallocHeader) / 16) * 16)
const isSmi = (x: number): boolean => (x | 0) === x && !Object.is(x, -0)

/** Bytes of a flat (sequential) string; two-byte when any code unit is beyond Latin-1. */
function stringBytes(s: string): number {
  // eslint-disable-next-line no-control-regex
  const twoByte = /[^\u0000-\u00ff]/.test(s)
  return align8(LAYOUT.stringHeader + s.length * (twoByte ? 2 : 1))
}

/** Bytes an element costs beyond its slot when held in a tagged (non-double) field. */
function primitiveBytes(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return isSmi(v) ? 0 : LAYOUT.heapNumber
    case 'string':
      return stringBytes(v)
    case 'bigint': {
      const bits = (v < 0n ? -v : v).toString(16).length * 4
      return LAYOUT.bigintHeader + Math.ceil(bits / 64) * 8
    }
    case 'function':
      return LAYOUT.closure
    default:
      return 0 // undefined, null, booleans and symbols are shared
  }
}

/** Bytes of an ArrayBuffer's backing store held outside the V8 heap. */
function backingStoreBytes(byteLength: number): number {
  return LAYOUT.backingStoreOverhead + mallocBytes(byteLength)
}

/** Evenly spread indices: all of them up to CHILD_SAMPLE, else a sample. */
function sampleIndices(length: number): { indices: number[]; weight: number } {
  const k = Math.min(length, CHILD_SAMPLE)
  const indices: number[] = new Array(k)
  for (let i = 0; i < k; i++) indices[i] = Math.floor((i * length) / k)
  return { indices, weight: k === 0 ? 0 : length / k }
}

interface Walk {
  seen: Set<object>
  stack: unknown[]
  weights: number[]
}

function push(w: Walk, v: unknown, weight: number): void {
  w.stack.push(v)
  w.weights.push(weight)
}

/** Own bytes of an array; pushes the elements that need walking. */
function arrayBytes(a: readonly unknown[], weight: number, w: Walk): number {
  if (a.length === 0) return LAYOUT.arrayHeader
  const { indices, weight: scale } = sampleIndices(a.length)
  // Only numbers, not all Smis: V8 keeps them unboxed in a FixedDoubleArray (still 8 B each).
  let allNumbers = true
  for (const i of indices) if (typeof a[i] !== 'number') allNumbers = false
  const own = LAYOUT.arrayHeader + LAYOUT.fixedArrayHeader + a.length * LAYOUT.slot
  if (!allNumbers) for (const i of indices) push(w, a[i], weight * scale)
  return own
}

function viewBytes(v: ArrayBufferView, w: Walk): number {
  if (v.byteLength <= LAYOUT.onHeapTypedArrayMaxBytes && !Buffer.isBuffer(v)) {
    // Data in an on-heap ByteArray, yet V8 still allocates the (empty) JSArrayBuffer. Reading
    // .buffer here would move the data off-heap, so small non-Buffer views are not asked.
    return LAYOUT.typedArray + LAYOUT.arrayBuffer + LAYOUT.fixedArrayHeader + align8(v.byteLength)
  }
  const buf = v.buffer
  if (buf.byteLength > 2 * v.byteLength) return LAYOUT.typedArray + v.byteLength // a slice of a shared pool
  if (w.seen.has(buf)) return LAYOUT.typedArray
  w.seen.add(buf)
  return LAYOUT.typedArray + LAYOUT.arrayBuffer + backingStoreBytes(buf.byteLength)
}

/** OrderedHashMap/Set: capacity a power of two >= 4, buckets = capacity / 2, `per` slots an entry. */
function hashTableBytes(size: number, per: number): number {
  let cap = 4
  while (cap < size) cap *= 2
  return LAYOUT.hashTableHeader + (cap / 2 + cap * per) * LAYOUT.slot
}

function collectionBytes(c: Map<unknown, unknown> | Set<unknown>, weight: number, w: Walk): number {
  const isMap = c instanceof Map
  const k = Math.min(c.size, CHILD_SAMPLE)
  const scale = k === 0 ? 0 : c.size / k
  let i = 0
  // A prefix, not a spread sample: iteration is the only access, and entries are alike in practice.
  for (const [key, value] of c.entries()) {
    if (i++ >= k) break
    push(w, key, weight * scale)
    if (isMap) push(w, value, weight * scale)
  }
  return LAYOUT.collection + hashTableBytes(c.size, isMap ? 3 : 2)
}

function objectBytes(o: object, weight: number, w: Walk): number {
  const keys = Object.keys(o)
  const n = keys.length
  let own: number
  if (n > LAYOUT.dictionaryAfterKeys) {
    own = LAYOUT.objectHeader + LAYOUT.emptyObjectSlots * LAYOUT.slot + hashTableBytes(2 * n, 3) + n * stringBytes('key')
  } else {
    own = LAYOUT.objectHeader + (n === 0 ? LAYOUT.emptyObjectSlots : n) * LAYOUT.slot
    // Past four fields an object grown from `{}` spills into a PropertyArray; a literal would not.
    if (n > LAYOUT.emptyObjectSlots) own += LAYOUT.propertyArrayHeader
  }
  const { indices, weight: scale } = sampleIndices(n)
  const rec = o as Record<string, unknown>
  for (const i of indices) push(w, rec[keys[i] as string], weight * scale)
  return own
}

/** Bytes of one value's own representation (not its slot); pushes children that need walking. */
function ownBytes(v: unknown, weight: number, w: Walk): number {
  if (typeof v !== 'object' || v === null) return primitiveBytes(v)
  if (w.seen.has(v)) return 0
  w.seen.add(v)
  if (Array.isArray(v)) return arrayBytes(v, weight, w)
  if (ArrayBuffer.isView(v)) return viewBytes(v, w)
  if (v instanceof ArrayBuffer) return LAYOUT.arrayBuffer + backingStoreBytes(v.byteLength)
  if (v instanceof Map || v instanceof Set) return collectionBytes(v, weight, w)
  if (v instanceof Date) return LAYOUT.date + LAYOUT.heapNumber
  return objectBytes(v, weight, w)
}

/** Estimated bytes of one record; `seen` is shared across a sample so shared objects count once. */
function recordBytes(record: unknown, seen: Set<object>): number {
  const w: Walk = { seen, stack: [record], weights: [1] }
  let bytes = 0
  let nodes = 0
  let nodeWeight = 0
  while (w.stack.length > 0 && nodes < MAX_NODES_PER_RECORD) {
    const v = w.stack.pop()
    const weight = w.weights.pop() as number
    bytes += weight * ownBytes(v, weight, w)
    nodes++
    nodeWeight += weight
  }
  // Budget spent: charge each value still pending at the mean cost per value walked so far.
  if (w.stack.length > 0 && nodeWeight > 0) {
    const mean = bytes / nodeWeight
    for (const weight of w.weights) bytes += weight * mean
  }
  return bytes
}

/**
 * Estimated V8 heap plus off-heap bytes that `records` keep alive (not counting the slots of the
 * array holding them): walks up to SAMPLE_RECORDS records spread over the array and scales up.
 * Never throws; cyclic and deeply nested records cost bounded work. Objects shared between
 * sampled records count once in the sample (then scale with it); strings are assumed flat, so
 * cons and sliced strings are under- or over-counted; enumerable getters are invoked.
 */
export function estimateHeapBytes(records: readonly unknown[]): number {
  const n = records.length
  if (n === 0) return 0
  const k = Math.min(n, SAMPLE_RECORDS)
  const seen = new Set<object>()
  let bytes = 0
  let allNumbers = true
  for (let i = 0; i < k; i++) {
    const r = records[Math.floor((i * n) / k)]
    if (typeof r !== 'number') allNumbers = false
    bytes += recordBytes(r, seen)
  }
  // A partition of numbers is itself a Smi or double array: its slots hold them unboxed.
  if (allNumbers) return 0
  return Math.ceil((bytes / k) * n)
}
