// Spill plumbing shared by the external aggregator and the external sorter: size estimates (a
// deterministic stand-in for heap usage, so spills happen at the same records in every run and
// reruns stay byte-identical), run files of flat [key, value, ...] frames, and a k-way merge heap.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFrame, FrameFileReader } from './record-frames.js'

/** Rough bytes a value occupies on the V8 heap. Deterministic; samples large collections. */
export function estimateSize(x: unknown): number {
  switch (typeof x) {
    case 'string': return 24 + x.length
    case 'object': {
      if (x === null) return 8
      if (Array.isArray(x)) {
        const n = x.length
        if (n === 0) return 32
        const sample = Math.min(n, 4)
        let s = 0
        for (let i = 0; i < sample; i++) s += estimateSize(x[i])
        return 32 + 8 * n + (s / sample) * n
      }
      let s = 48
      for (const k in x) s += 16 + estimateSize((x as Record<string, unknown>)[k])
      return s
    }
    default: return 16
  }
}

const FRAME_RECORDS = 2048

let spillSeq = 0

/** Writes sorted flat records to a run file in large frames. */
export class RunWriter {
  readonly path: string
  readonly #fd: number
  #flat: unknown[] = []
  #pending: Buffer[] = []
  #pendingBytes = 0
  bytes = 0

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true })
    this.path = join(dir, `spill-${process.pid}-${++spillSeq}.run`)
    this.#fd = openSync(this.path, 'w')
  }

  push(k: unknown, v: unknown): void {
    this.#flat.push(k, v)
    if (this.#flat.length >= FRAME_RECORDS * 2) this.#frame()
  }

  #frame(): void {
    if (this.#flat.length === 0) return
    const f = encodeFrame(this.#flat)
    this.#flat = []
    this.#pending.push(f)
    this.#pendingBytes += f.length
    if (this.#pendingBytes >= 1 << 20) this.#write()
  }

  #write(): void {
    const buf = Buffer.concat(this.#pending)
    let off = 0
    while (off < buf.length) off += writeSync(this.#fd, buf, off, buf.length - off)
    this.bytes += buf.length
    this.#pending = []
    this.#pendingBytes = 0
  }

  finish(): void {
    this.#frame()
    this.#write()
    closeSync(this.#fd)
  }
}

/** Reads a run back one record at a time. */
export class RunReader {
  readonly #reader: FrameFileReader
  readonly #path: string
  #flat: unknown[] = []
  #i = 0
  key: unknown = undefined
  value: unknown = undefined

  constructor(path: string) {
    this.#path = path
    this.#reader = new FrameFileReader(path)
  }

  /** Advances to the next record; false at the end (and the file is deleted). */
  advance(): boolean {
    while (this.#i >= this.#flat.length) {
      const next = this.#reader.next()
      if (next === null) {
        this.#reader.close()
        rmSync(this.#path, { force: true })
        return false
      }
      this.#flat = next
      this.#i = 0
    }
    this.key = this.#flat[this.#i]
    this.value = this.#flat[this.#i + 1]
    this.#i += 2
    return true
  }
}

/** Minimal binary heap. */
export class Heap<T> {
  readonly #a: T[] = []
  readonly #less: (x: T, y: T) => boolean

  constructor(less: (x: T, y: T) => boolean) {
    this.#less = less
  }

  get size(): number {
    return this.#a.length
  }

  peek(): T | undefined {
    return this.#a[0]
  }

  push(x: T): void {
    const a = this.#a
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.#less(a[i] as T, a[p] as T)) break
      ;[a[i], a[p]] = [a[p] as T, a[i] as T]
      i = p
    }
  }

  pop(): T | undefined {
    const a = this.#a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.#less(a[l] as T, a[m] as T)) m = l
        if (r < a.length && this.#less(a[r] as T, a[m] as T)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m] as T, a[i] as T]
        i = m
      }
    }
    return top
  }
}
