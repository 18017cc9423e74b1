// The per-process partition cache behind cache()/persist(): records of persisted partitions kept
// in memory in LRU order under a byte budget; MEMORY_AND_DISK partitions evicted from memory go to
// disk (v8-serialised) and are read back from there, DISK partitions only ever live on disk, and
// an evicted MEMORY partition is simply recomputed from lineage next time it is needed.
import { checkRecords } from './record-values.js'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deserialize, serialize } from 'node:v8'
import { estimateHeapBytes } from './size-estimate.js'
import type { StorageLevel } from './task-spec.js'

export interface CacheStats {
  memoryBytes: number
  diskBytes: number
  blocksInMemory: number
  hits: number
  diskHits: number
  misses: number
  evictions: number
}

interface Entry {
  records: unknown[]
  bytes: number
  level: StorageLevel
  diskPath: string
}

/** The partition's own array: JSArray (32 B) plus its elements' FixedArray header (16 B). */
const ARRAY_OWN_BYTES = 48

/**
 * Estimated memory a partition holds: its array's 8-byte slots plus the records' V8 heap and
 * off-heap bytes. A v8.serialize size understated this (by 2.5x for small typed arrays), letting a
 * worker hold far more than its --memory-mb.
 */
function estimateBytes(records: readonly unknown[]): number {
  return ARRAY_OWN_BYTES + records.length * 8 + estimateHeapBytes(records)
}

export class PartitionCache {
  readonly #mem = new Map<string, Entry>()
  readonly #onDisk = new Map<string, { bytes: number; path: string }>()
  #memoryBytes = 0
  /** This process's share of a cluster worker's --memory-mb: caps the budget plans carry. */
  workerLimitBytes: number | undefined
  readonly stats: CacheStats = { memoryBytes: 0, diskBytes: 0, blocksInMemory: 0, hits: 0, diskHits: 0, misses: 0, evictions: 0 }

  static path(dir: string, key: string): string {
    return join(dir, 'cache', `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.v8`)
  }

  /** Records of a persisted partition, or undefined when it must be computed. */
  get(key: string, level: StorageLevel, dir: string): unknown[] | undefined {
    const e = this.#mem.get(key)
    if (e !== undefined) {
      this.#mem.delete(key)
      this.#mem.set(key, e) // most recently used
      this.stats.hits++
      return e.records
    }
    if (level === 'MEMORY_AND_DISK' || level === 'DISK') {
      const path = PartitionCache.path(dir, key)
      if (this.#onDisk.has(key) && existsSync(path)) {
        this.stats.diskHits++
        return deserialize(readFileSync(path)) as unknown[]
      }
    }
    this.stats.misses++
    return undefined
  }

  /** Stores a computed partition; returns whether it is now held (memory or disk). */
  put(key: string, records: unknown[], level: StorageLevel, dir: string, budgetBytes: number): boolean {
    // Every level accepts the same values (a disk copy is v8-serialised; memory must not keep more).
    checkRecords(records, 'cache')
    const budget = Math.min(budgetBytes, this.workerLimitBytes ?? Infinity)
    const path = PartitionCache.path(dir, key)
    if (level === 'DISK') {
      this.#writeDisk(key, path, records)
      return true
    }
    const bytes = estimateBytes(records)
    if (bytes > budget) {
      if (level === 'MEMORY_AND_DISK') {
        this.#writeDisk(key, path, records)
        return true
      }
      return false
    }
    while (this.#memoryBytes + bytes > budget && this.#mem.size > 0) this.#evictOldest()
    this.#mem.set(key, { records, bytes, level, diskPath: path })
    this.#memoryBytes += bytes
    this.#sync()
    return true
  }

  /**
   * Drops every partition of `cacheKey` (unpersist) from memory and disk; returns the estimated
   * bytes that were held in memory.
   */
  drop(cacheKey: string): number {
    let freed = 0
    for (const [k, e] of this.#mem) {
      if (!k.startsWith(`${cacheKey}-`)) continue
      this.#mem.delete(k)
      this.#memoryBytes -= e.bytes
      freed += e.bytes
    }
    for (const [k, d] of this.#onDisk) {
      if (!k.startsWith(`${cacheKey}-`)) continue
      this.#onDisk.delete(k)
      this.stats.diskBytes -= d.bytes
      rmSync(d.path, { force: true })
    }
    this.#sync()
    return freed
  }

  has(key: string): boolean {
    return this.#mem.has(key) || this.#onDisk.has(key)
  }

  #evictOldest(): void {
    const first = this.#mem.entries().next().value as [string, Entry] | undefined
    if (first === undefined) return
    const [key, e] = first
    this.#mem.delete(key)
    this.#memoryBytes -= e.bytes
    this.stats.evictions++
    if (e.level === 'MEMORY_AND_DISK' && !this.#onDisk.has(key)) this.#writeDisk(key, e.diskPath, e.records)
  }

  #writeDisk(key: string, path: string, records: unknown[]): void {
    mkdirSync(join(path, '..'), { recursive: true })
    const bytes = serialize(records)
    writeFileSync(`${path}.tmp-${process.pid}`, bytes)
    renameSync(`${path}.tmp-${process.pid}`, path)
    this.#onDisk.set(key, { bytes: bytes.length, path })
    this.stats.diskBytes += bytes.length
  }

  #sync(): void {
    this.stats.memoryBytes = this.#memoryBytes
    this.stats.blocksInMemory = this.#mem.size
  }

  /** Forgets everything (tests). */
  clear(dir?: string): void {
    this.#mem.clear()
    this.#onDisk.clear()
    this.#memoryBytes = 0
    this.#sync()
    if (dir !== undefined) rmSync(join(dir, 'cache'), { recursive: true, force: true })
  }
}

/** The partition cache of this worker process. */
export const partitionCache = new PartitionCache()

/** Below this many estimated bytes an unpersist leaves the garbage to V8's own schedule. */
const COLLECT_AFTER_BYTES = 16 * 2 ** 20

/**
 * unpersist() on a worker process: drops the partitions, then (when they were large and the
 * process runs with --expose-gc) collects at once, so the heap, and with it the process's memory,
 * shrinks now instead of whenever the old generation next fills. A dead worker with a smaller
 * memory also frees faster, which a survivor on the same machine feels.
 */
export function dropCached(cacheKey: string): number {
  const freed = partitionCache.drop(cacheKey)
  const gc = (globalThis as { gc?: () => void }).gc
  if (freed >= COLLECT_AFTER_BYTES && gc !== undefined) gc()
  return freed
}
