// The one narrow interface through which the stream store touches files (append, fsync, read,
// truncate, rename, plus listing), so tests can swap in FaultStorageIO and simulate power loss.
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, ftruncateSync, writeSync, writevSync } from 'node:fs'
import { dirname } from 'node:path'

export interface StorageFile {
  /** Current length in bytes, including appended but not yet synced data. */
  readonly size: number
  /** Appends at the end (reaches the OS page cache, not yet the disk); an array is one gathered write. */
  append(data: Uint8Array | readonly Uint8Array[]): void
  /** Resolves once everything appended so far is on stable storage. */
  fsync(): Promise<void>
  read(position: number, length: number): Uint8Array
  truncate(size: number): void
  close(): void
}

export interface StorageIO {
  mkdirp(dir: string): void
  /** File names (not paths) in a directory; [] when it does not exist. */
  list(dir: string): string[]
  exists(path: string): boolean
  /** Opens for append and read, creating the file (durably) when missing. */
  open(path: string): StorageFile
  /** Atomic and durable replacement of `to`. */
  rename(from: string, to: string): void
  remove(path: string): void
}

/** Writes a whole small file atomically: temp file, fsync, rename over the old one. */
export async function writeFileAtomic(io: StorageIO, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`
  const f = io.open(tmp)
  try {
    f.truncate(0)
    f.append(data)
    await f.fsync()
  } finally {
    f.close()
  }
  io.rename(tmp, path)
}

export function readWholeFile(io: StorageIO, path: string): Uint8Array | undefined {
  if (!io.exists(path)) return undefined
  const f = io.open(path)
  try {
    return f.read(0, f.size)
  } finally {
    f.close()
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some file systems refuse fsync on directories; the data files are still synced.
  }
}

class NodeFile implements StorageFile {
  readonly #fd: number
  #size: number
  #closed = false

  constructor(fd: number, size: number) {
    this.#fd = fd
    this.#size = size
  }

  get size(): number {
    return this.#size
  }

  append(data: Uint8Array | readonly Uint8Array[]): void {
    if (!(data instanceof Uint8Array)) {
      let total = 0
      for (const d of data) total += d.length
      const n = writevSync(this.#fd, data as Uint8Array[], this.#size)
      this.#size += n
      // A short gathered write (more buffers than IOV_MAX, or a full pipe): finish with plain writes.
      if (n < total) this.append(Buffer.concat(data as Uint8Array[], total).subarray(n))
      return
    }
    let off = 0
    while (off < data.length) off += writeSync(this.#fd, data, off, data.length - off, this.#size + off)
    this.#size += data.length
  }

  fsync(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise((resolve, reject) => fsync(this.#fd, (err) => (err ? reject(err) : resolve())))
  }

  read(position: number, length: number): Uint8Array {
    const len = Math.max(0, Math.min(length, this.#size - position))
    const buf = new Uint8Array(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.#fd, buf, got, len - got, position + got)
      if (n === 0) break
      got += n
    }
    return got === len ? buf : buf.subarray(0, got)
  }

  truncate(size: number): void {
    ftruncateSync(this.#fd, size)
    this.#size = size
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    closeSync(this.#fd)
  }
}

/** The real file system. */
export class NodeStorageIO implements StorageIO {
  mkdirp(dir: string): void {
    mkdirSync(dir, { recursive: true })
  }

  list(dir: string): string[] {
    try {
      return readdirSync(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  exists(path: string): boolean {
    try {
      statSync(path)
      return true
    } catch {
      return false
    }
  }

  open(path: string): StorageFile {
    const existed = this.exists(path)
    const fd = openSync(path, existed ? 'r+' : 'w+')
    if (!existed) syncDir(dirname(path))
    return new NodeFile(fd, statSync(path).size)
  }

  rename(from: string, to: string): void {
    renameSync(from, to)
    syncDir(dirname(to))
  }

  remove(path: string): void {
    rmSync(path, { force: true, recursive: true })
    syncDir(dirname(path))
  }
}
