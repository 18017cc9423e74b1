// Cache storage: a memory tier bounded by bytes (lru-cache) in front of an optional disk tier that
// survives restarts. Entries are grouped by primary key (method-less URL) so Vary variants,
// invalidation and prefix purges find every stored response of a URL.
import { createHash } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync } from 'node:fs'
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'

export type StoredHeaders = Record<string, string | string[]>

export interface CacheEntry {
  /** Primary key: scheme://authority/path?query, the authority as the client sent it (port included). */
  readonly key: string
  /**
   * Who forwarded the request: route and pool. One URL answered through two routes (a canary
   * pool, a rewrite) gives two responses, so it is part of the variant; purges ignore it.
   */
  readonly scope?: string
  /** Request header names the response varies on (lower case), in the order given by Vary. */
  readonly vary: readonly string[]
  /** Normalised request values of those headers; `key + '\n' + varyValues` identifies the variant. */
  readonly varyValues: string
  readonly status: number
  /** Stored response headers, hop-by-hop removed. */
  headers: StoredHeaders
  readonly body: Buffer
  /** Request headers used for policy decisions (host, authorization presence, vary'd fields). */
  readonly reqHeaders: Record<string, string>
  requestTime: number
  responseTime: number
}

export function variantId(e: Pick<CacheEntry, 'key' | 'varyValues' | 'scope'>): string {
  return `${e.key}\n${e.scope ?? ''}\n${e.varyValues}`
}

export function entrySize(e: CacheEntry): number {
  let n = e.body.length + e.key.length + e.varyValues.length + 200
  for (const [k, v] of Object.entries(e.headers)) n += k.length + (typeof v === 'string' ? v.length : v.join('').length) + 8
  return n
}

export interface CacheStoreOptions {
  maxMemoryBytes: number
  /** Directory of the disk tier; undefined = memory only. */
  diskDir?: string
  maxDiskBytes?: number
}

interface DiskRecord {
  file: string
  size: number
  key: string
  varyValues: string
  mtime: number
}

export class CacheStore {
  readonly #memory: LRUCache<string, CacheEntry>
  /** primary key -> variant ids, across both tiers. */
  readonly #byKey = new Map<string, Set<string>>()
  readonly #disk = new Map<string, DiskRecord>()
  readonly #diskDir: string | undefined
  readonly #maxDiskBytes: number
  #diskBytes = 0

  constructor(options: CacheStoreOptions) {
    this.#memory = new LRUCache<string, CacheEntry>({
      maxSize: Math.max(1, options.maxMemoryBytes),
      sizeCalculation: (e) => Math.max(1, entrySize(e)),
      dispose: (_e, id, reason) => {
        // Evicted from memory but kept on disk: the index still knows the variant.
        if (reason === 'evict' && this.#disk.has(id)) return
        if (reason !== 'set') this.#unindex(id)
      },
    })
    this.#diskDir = options.diskDir
    this.#maxDiskBytes = options.maxDiskBytes ?? 1024 ** 3
    if (this.#diskDir !== undefined) this.#loadDiskIndex(this.#diskDir)
  }

  get memoryBytes(): number {
    return this.#memory.calculatedSize
  }

  get diskBytes(): number {
    return this.#diskBytes
  }

  get variantCount(): number {
    let n = 0
    for (const s of this.#byKey.values()) n += s.size
    return n
  }

  /** Variant ids stored for a primary key (both tiers). */
  variants(key: string): readonly string[] {
    return [...(this.#byKey.get(key) ?? [])]
  }

  /** The live variant ids of a key, for a synchronous loop that changes no entry (the hit path). */
  variantIds(key: string): ReadonlySet<string> | undefined {
    return this.#byKey.get(key)
  }

  /** Memory-tier lookup; undefined when absent or only on disk. */
  getMemory(id: string): CacheEntry | undefined {
    return this.#memory.get(id)
  }

  onDisk(id: string): boolean {
    return this.#disk.has(id)
  }

  /** Reads a disk-tier entry and promotes it to memory. */
  async getDisk(id: string): Promise<CacheEntry | undefined> {
    const rec = this.#disk.get(id)
    if (rec === undefined) return undefined
    try {
      const buf = await readFile(rec.file)
      const metaLen = buf.readUInt32BE(0)
      const meta = JSON.parse(buf.subarray(4, 4 + metaLen).toString('utf8')) as Omit<CacheEntry, 'body'>
      const entry: CacheEntry = { ...meta, body: buf.subarray(4 + metaLen) }
      if (this.#disk.get(id) !== rec) return undefined
      this.#memory.set(id, entry)
      return entry
    } catch {
      this.#dropDisk(id)
      return undefined
    }
  }

  set(entry: CacheEntry): void {
    const id = variantId(entry)
    let ids = this.#byKey.get(entry.key)
    if (ids === undefined) {
      ids = new Set()
      this.#byKey.set(entry.key, ids)
    }
    ids.add(id)
    this.#memory.set(id, entry)
    if (this.#diskDir !== undefined) void this.#writeDisk(this.#diskDir, id, entry)
  }

  delete(id: string): void {
    this.#memory.delete(id)
    this.#dropDisk(id)
    this.#unindex(id)
  }

  /** Removes every variant of a primary key; returns how many. */
  deleteKey(key: string): number {
    const ids = [...(this.#byKey.get(key) ?? [])]
    for (const id of ids) this.delete(id)
    return ids.length
  }

  /** Removes every variant whose primary key passes `test`; returns how many. */
  deleteWhere(test: (key: string) => boolean): number {
    let n = 0
    for (const key of [...this.#byKey.keys()]) if (test(key)) n += this.deleteKey(key)
    return n
  }

  /** Removes every variant whose primary key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    let n = 0
    for (const key of [...this.#byKey.keys()]) if (key.startsWith(prefix)) n += this.deleteKey(key)
    return n
  }

  clear(): void {
    for (const key of [...this.#byKey.keys()]) this.deleteKey(key)
  }

  #unindex(id: string): void {
    if (this.#memory.has(id) || this.#disk.has(id)) return
    const key = id.slice(0, id.indexOf('\n'))
    const ids = this.#byKey.get(key)
    if (ids === undefined) return
    ids.delete(id)
    if (ids.size === 0) this.#byKey.delete(key)
  }

  #fileFor(dir: string, id: string): string {
    return join(dir, `${createHash('sha256').update(id).digest('hex')}.entry`)
  }

  async #writeDisk(dir: string, id: string, entry: CacheEntry): Promise<void> {
    const { body, ...meta } = entry
    const metaBuf = Buffer.from(JSON.stringify(meta))
    const head = Buffer.alloc(4)
    head.writeUInt32BE(metaBuf.length, 0)
    const file = this.#fileFor(dir, id)
    const tmp = `${file}.${process.pid}.tmp`
    try {
      await writeFile(tmp, Buffer.concat([head, metaBuf, body]))
      // The entry may have been purged while we wrote; do not resurrect it.
      if (!this.#memory.has(id) && !this.#byKey.get(entry.key)?.has(id)) {
        await unlink(tmp).catch(() => {})
        return
      }
      await rename(tmp, file)
      const prev = this.#disk.get(id)
      if (prev !== undefined) this.#diskBytes -= prev.size
      const size = 4 + metaBuf.length + body.length
      this.#disk.set(id, { file, size, key: entry.key, varyValues: entry.varyValues, mtime: Date.now() })
      this.#diskBytes += size
      this.#trimDisk()
    } catch {
      await unlink(tmp).catch(() => {})
    }
  }

  #trimDisk(): void {
    if (this.#diskBytes <= this.#maxDiskBytes) return
    const byAge = [...this.#disk.entries()].sort((a, b) => a[1].mtime - b[1].mtime)
    for (const [id] of byAge) {
      if (this.#diskBytes <= this.#maxDiskBytes * 0.9) break
      this.#dropDisk(id)
      this.#unindex(id)
    }
  }

  #dropDisk(id: string): void {
    const rec = this.#disk.get(id)
    if (rec === undefined) return
    this.#disk.delete(id)
    this.#diskBytes -= rec.size
    try {
      unlinkSync(rec.file)
    } catch {
      // already gone
    }
  }

  /** Start-up only: reads each entry file's metadata block to rebuild the index. */
  #loadDiskIndex(dir: string): void {
    mkdirSync(dir, { recursive: true })
    for (const name of readdirSync(dir)) {
      const file = join(dir, name)
      if (name.endsWith('.tmp')) {
        try {
          unlinkSync(file)
        } catch {
          // ignore
        }
        continue
      }
      if (!name.endsWith('.entry')) continue
      let fd: number | undefined
      try {
        fd = openSync(file, 'r')
        const head = Buffer.alloc(4)
        readSync(fd, head, 0, 4, 0)
        const len = head.readUInt32BE(0)
        const metaBuf = Buffer.alloc(len)
        readSync(fd, metaBuf, 0, len, 4)
        const meta = JSON.parse(metaBuf.toString('utf8')) as { key: string; varyValues: string; scope?: string }
        const st = statSync(file)
        const id = variantId(meta)
        this.#disk.set(id, { file, size: st.size, key: meta.key, varyValues: meta.varyValues, mtime: st.mtimeMs })
        this.#diskBytes += st.size
        let ids = this.#byKey.get(meta.key)
        if (ids === undefined) {
          ids = new Set()
          this.#byKey.set(meta.key, ids)
        }
        ids.add(id)
      } catch {
        // A torn or foreign file: skip it (and remove it so it cannot confuse the next start).
        try {
          unlinkSync(file)
        } catch {
          // ignore
        }
      } finally {
        if (fd !== undefined) closeSync(fd)
      }
    }
  }
}
