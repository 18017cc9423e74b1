// Shuffle blocks on the local file system: one data file and one index per map task attempt
// under <scratchDir>/shuffle-<id>/. Writers buffer frames per reduce partition and write whole
// runs with one sequential write; the index is written last and renamed into place, so a reader
// either sees a complete output or none.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writevSync } from 'node:fs'
import { join } from 'node:path'
import { FetchFailedError } from './fetch-failed.js'
import type { BlockId, MapOutputWriter, ShuffleBlockStore, ShuffleFetcher } from './shuffle-store.js'
import type { MapOutputLocation } from './task-spec.js'

/** Per reduce partition: flat [offset, length, offset, length, ...] segments in file order. */
type Index = number[][]

export function mapOutputPaths(scratchDir: string, shuffleId: number, mapId: number, attempt: number): { data: string; index: string } {
  const base = join(scratchDir, `shuffle-${shuffleId}`, `m${mapId}-a${attempt}`)
  return { data: `${base}.data`, index: `${base}.index` }
}

class LocalMapOutputWriter implements MapOutputWriter {
  readonly #paths: { data: string; index: string }
  readonly #fd: number
  readonly #frames: Uint8Array[][]
  readonly #index: Index
  readonly #sizes: number[]
  #offset = 0
  #buffered = 0

  constructor(paths: { data: string; index: string }, reducers: number) {
    this.#paths = paths
    this.#fd = openSync(paths.data, 'w')
    this.#frames = Array.from({ length: reducers }, () => [])
    this.#index = Array.from({ length: reducers }, () => [])
    this.#sizes = new Array<number>(reducers).fill(0)
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  append(reduceId: number, frame: Uint8Array): void {
    const list = this.#frames[reduceId]
    if (list === undefined) throw new RangeError(`reduceId ${reduceId} out of range`)
    list.push(frame)
    this.#buffered += frame.length
  }

  flush(): void {
    if (this.#buffered === 0) return
    const all: Uint8Array[] = []
    for (let r = 0; r < this.#frames.length; r++) {
      const list = this.#frames[r] as Uint8Array[]
      if (list.length === 0) continue
      let len = 0
      for (const f of list) { all.push(f); len += f.length }
      ;(this.#index[r] as number[]).push(this.#offset, len)
      this.#sizes[r] = (this.#sizes[r] as number) + len
      this.#offset += len
      this.#frames[r] = []
    }
    // One gathered write (no concatenated copy: fresh memory is costly to touch).
    let left = this.#buffered
    let written = writevSync(this.#fd, all)
    left -= written
    while (left > 0) {
      // A short write: finish the rest frame by frame.
      let skip = written
      const rest: Uint8Array[] = []
      for (const f of all) {
        if (skip >= f.length) { skip -= f.length; continue }
        rest.push(skip > 0 ? f.subarray(skip) : f)
        skip = 0
      }
      all.length = 0
      all.push(...rest)
      written = writevSync(this.#fd, all)
      left -= written
    }
    this.#buffered = 0
  }

  commit(): number[] {
    this.flush()
    closeSync(this.#fd)
    writeFileSync(`${this.#paths.index}.tmp`, JSON.stringify(this.#index))
    renameSync(`${this.#paths.index}.tmp`, this.#paths.index)
    return this.#sizes
  }

  abort(): void {
    try { closeSync(this.#fd) } catch { /* already closed */ }
    rmSync(this.#paths.data, { force: true })
    rmSync(`${this.#paths.index}.tmp`, { force: true })
  }
}

const indexCache = new Map<string, Index>()

function readIndex(path: string): Index {
  let idx = indexCache.get(path)
  if (idx === undefined) {
    idx = JSON.parse(readFileSync(path, 'utf8')) as Index
    if (indexCache.size > 4096) indexCache.clear()
    indexCache.set(path, idx)
  }
  return idx
}

function* readSegments(dataPath: string, segments: readonly number[]): Generator<Uint8Array> {
  const fd = openSync(dataPath, 'r')
  try {
    for (let i = 0; i < segments.length; i += 2) {
      const off = segments[i] as number
      const len = segments[i + 1] as number
      const buf = Buffer.allocUnsafe(len)
      let got = 0
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, off + got)
        if (n === 0) throw new Error(`Shuffle file ${dataPath} is shorter than its index`)
        got += n
      }
      yield buf
    }
  } finally {
    closeSync(fd)
  }
}

export class LocalShuffleStore implements ShuffleBlockStore {
  readonly #scratchDir: string

  constructor(scratchDir: string) {
    this.#scratchDir = scratchDir
  }

  createMapOutput(shuffleId: number, mapId: number, attempt: number, reducers: number): MapOutputWriter {
    mkdirSync(join(this.#scratchDir, `shuffle-${shuffleId}`), { recursive: true })
    return new LocalMapOutputWriter(mapOutputPaths(this.#scratchDir, shuffleId, mapId, attempt), reducers)
  }

  openBlock(block: BlockId): Iterable<Uint8Array> {
    const paths = mapOutputPaths(this.#scratchDir, block.shuffleId, block.mapId, block.attempt)
    let segments: number[]
    try {
      segments = readIndex(paths.index)[block.reduceId] ?? []
    } catch (err) {
      throw new FetchFailedError(block.shuffleId, block.mapId, `Map output ${block.mapId} (attempt ${block.attempt}) of shuffle ${block.shuffleId} is missing`, { cause: err })
    }
    return readSegments(paths.data, segments)
  }
}

/** Reads blocks straight from the shared file system (local mode: all workers on one machine). */
export class LocalShuffleFetcher implements ShuffleFetcher {
  readonly #store: LocalShuffleStore

  constructor(scratchDir: string) {
    this.#store = new LocalShuffleStore(scratchDir)
  }

  async *fetch(shuffleId: number, location: MapOutputLocation, reduceId: number): AsyncIterable<Uint8Array> {
    const block = { shuffleId, mapId: location.mapId, attempt: location.attempt, reduceId }
    try {
      yield* this.#store.openBlock(block)
    } catch (err) {
      if (err instanceof FetchFailedError) throw err
      throw new FetchFailedError(shuffleId, location.mapId, `Cannot read map output ${location.mapId} of shuffle ${shuffleId}: ${(err as Error).message}`, { cause: err })
    }
  }
}
