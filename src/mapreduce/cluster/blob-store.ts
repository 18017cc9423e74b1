// Content-addressed blobs (job modules, broadcast values): keyed by the sha256 of their bytes, so
// a worker fetches each one once and can verify what it got. The coordinator keeps them in memory;
// workers keep them on disk under their cache directory.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { ClusterError, ClusterErrorCodes } from './errors.js'

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const HEX64 = /^[0-9a-f]{64}$/

export function assertDigest(digest: string): void {
  if (!HEX64.test(digest)) throw new ClusterError(ClusterErrorCodes.MODULE_DIGEST, `Invalid blob digest "${digest.slice(0, 80)}": expected 64 hex characters`)
}

/** In-memory store on the coordinator. */
export class MemoryBlobStore {
  readonly #blobs = new Map<string, Buffer>()

  has(digest: string): boolean {
    return this.#blobs.has(digest)
  }

  /** Stores bytes after checking they hash to `digest`. */
  put(digest: string, bytes: Uint8Array): void {
    assertDigest(digest)
    if (sha256Hex(bytes) !== digest) throw new ClusterError(ClusterErrorCodes.MODULE_DIGEST, `Blob ${digest.slice(0, 12)} does not hash to its digest`)
    this.#blobs.set(digest, Buffer.from(bytes))
  }

  get(digest: string): Buffer | undefined {
    return this.#blobs.get(digest)
  }

  get size(): number {
    return this.#blobs.size
  }

  get bytes(): number {
    let n = 0
    for (const b of this.#blobs.values()) n += b.length
    return n
  }
}

/**
 * On-disk cache on a worker: `<dir>/<digest>/<name>`. The file name is kept so that a module
 * keeps its extension (`.ts`, `.mjs`) and relative names in stack traces stay readable.
 */
export class DiskBlobCache {
  readonly dir: string
  readonly #known = new Map<string, string>()
  /** Fetches performed (cache misses), for tests and the UI. */
  fetches = 0
  readonly #inflight = new Map<string, Promise<string>>()

  constructor(dir: string) {
    this.dir = dir
    mkdirSync(dir, { recursive: true })
  }

  pathOf(digest: string, name: string): string {
    assertDigest(digest)
    const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'blob'
    return join(this.dir, digest, safe)
  }

  /** Path of the blob on disk, fetching it through `fetch` only when missing. */
  async ensure(digest: string, name: string, fetch: () => Promise<Uint8Array>): Promise<string> {
    const known = this.#known.get(`${digest}/${name}`)
    if (known !== undefined) return known
    const path = this.pathOf(digest, name)
    if (existsSync(path) && sha256Hex(readFileSync(path)) === digest) {
      this.#known.set(`${digest}/${name}`, path)
      return path
    }
    const running = this.#inflight.get(path)
    if (running !== undefined) return running
    const p = (async () => {
      this.fetches++
      const bytes = await fetch()
      if (sha256Hex(bytes) !== digest) {
        throw new ClusterError(ClusterErrorCodes.MODULE_DIGEST, `Blob ${digest.slice(0, 12)} (${name}) arrived with different content: refusing it`)
      }
      mkdirSync(join(this.dir, digest), { recursive: true })
      const tmp = `${path}.tmp-${process.pid}`
      writeFileSync(tmp, bytes)
      renameSync(tmp, path)
      this.#known.set(`${digest}/${name}`, path)
      return path
    })()
    this.#inflight.set(path, p)
    try {
      return await p
    } finally {
      this.#inflight.delete(path)
    }
  }
}
