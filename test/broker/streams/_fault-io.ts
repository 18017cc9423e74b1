// An in-memory StorageIO that remembers what was fsynced, for power-loss tests: crash() throws
// away everything written after each file's last fsync, optionally keeping a torn prefix of it,
// and corrupt() flips bits. Directory operations (create, rename, remove) count as durable at once,
// as NodeStorageIO fsyncs the directory after each of them.
import type { StorageFile, StorageIO } from '../../../src/broker/streams/storage-io.js'

interface MemFile {
  data: Uint8Array
  size: number
  /** Bytes [0, synced) survive a crash. */
  synced: number
}

export interface CrashOptions {
  /** Keep this fraction (0..1) of each file's unsynced tail: a torn write. Default 0. */
  keepUnsynced?: number
  /** Random source in [0, 1); default Math.random. */
  random?: () => number
}

export interface FaultStats {
  fsyncs: number
  appends: number
  crashes: number
}

export class FaultStorageIO implements StorageIO {
  readonly #files = new Map<string, MemFile>()
  readonly #dirs = new Set<string>()
  /** Open handles become dead after a crash, like a process that died. */
  #epoch = 0
  readonly stats: FaultStats = { fsyncs: 0, appends: 0, crashes: 0 }
  /** When set, fsync resolves without making anything durable (a lying disk / no-sync control). */
  fsyncIsNoop = false

  mkdirp(dir: string): void {
    this.#dirs.add(dir.replace(/\/+$/, ''))
  }

  list(dir: string): string[] {
    const prefix = `${dir.replace(/\/+$/, '')}/`
    const out = new Set<string>()
    for (const p of [...this.#files.keys(), ...this.#dirs]) {
      if (p.startsWith(prefix)) out.add(p.slice(prefix.length).split('/')[0] as string)
    }
    return [...out].sort()
  }

  exists(path: string): boolean {
    return this.#files.has(path) || this.#dirs.has(path)
  }

  open(path: string): StorageFile {
    let file = this.#files.get(path)
    if (file === undefined) {
      file = { data: new Uint8Array(256), size: 0, synced: 0 }
      this.#files.set(path, file)
    }
    return this.#handle(file)
  }

  rename(from: string, to: string): void {
    const f = this.#files.get(from)
    if (f === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' })
    this.#files.delete(from)
    this.#files.set(to, f)
  }

  remove(path: string): void {
    this.#files.delete(path)
    const prefix = `${path}/`
    for (const p of [...this.#files.keys()]) if (p.startsWith(prefix)) this.#files.delete(p)
    for (const d of [...this.#dirs]) if (d === path || d.startsWith(prefix)) this.#dirs.delete(d)
  }

  /**
   * A view for one simulated process: after the next crash() every call through it does nothing
   * (reads see nothing), as a dead process can no longer write. Start the "restarted" broker on a
   * new session.
   */
  session(): StorageIO {
    const epoch = this.#epoch
    const alive = (): boolean => this.#epoch === epoch
    const dead: StorageFile = { size: 0, append() {}, fsync: () => Promise.resolve(), read: () => new Uint8Array(0), truncate() {}, close() {} }
    return {
      mkdirp: (d) => {
        if (alive()) this.mkdirp(d)
      },
      list: (d) => (alive() ? this.list(d) : []),
      exists: (p) => alive() && this.exists(p),
      open: (p) => (alive() ? this.open(p) : dead),
      rename: (a, b) => {
        if (alive()) this.rename(a, b)
      },
      remove: (p) => {
        if (alive()) this.remove(p)
      },
    }
  }

  /** Simulates power loss: every file goes back to its synced length (plus an optional torn tail). */
  crash(options: CrashOptions = {}): void {
    const random = options.random ?? Math.random
    const keep = options.keepUnsynced ?? 0
    this.#epoch++
    this.stats.crashes++
    for (const f of this.#files.values()) {
      const unsynced = f.size - f.synced
      const kept = keep > 0 && unsynced > 0 ? Math.floor(unsynced * keep * random()) : 0
      f.size = f.synced + kept
      f.synced = f.size
    }
  }

  /** Flips `count` random bits in [from, to) of a file; returns the byte offsets touched. */
  flipBits(path: string, count: number, random: () => number = Math.random, from = 0, to?: number): number[] {
    const f = this.#files.get(path)
    if (f === undefined || f.size === 0) return []
    const end = Math.min(to ?? f.size, f.size)
    const touched: number[] = []
    for (let i = 0; i < count && end > from; i++) {
      const off = from + Math.floor(random() * (end - from))
      f.data[off] = (f.data[off] as number) ^ (1 << Math.floor(random() * 8))
      touched.push(off)
    }
    return touched
  }

  fileSize(path: string): number {
    return this.#files.get(path)?.size ?? -1
  }

  syncedSize(path: string): number {
    return this.#files.get(path)?.synced ?? -1
  }

  paths(): string[] {
    return [...this.#files.keys()].sort()
  }

  #handle(file: MemFile): StorageFile {
    const epoch = this.#epoch
    const io = this
    const alive = (): boolean => io.#epoch === epoch
    return {
      get size() {
        return file.size
      },
      append(input: Uint8Array | readonly Uint8Array[]) {
        if (!alive()) return
        const data = input instanceof Uint8Array ? input : Buffer.concat(input as Uint8Array[])
        io.stats.appends++
        const need = file.size + data.length
        if (need > file.data.length) {
          const grown = new Uint8Array(Math.max(need, file.data.length * 2))
          grown.set(file.data.subarray(0, file.size))
          file.data = grown
        }
        file.data.set(data, file.size)
        file.size = need
      },
      fsync() {
        // Durable as of the moment fsync is called (like the kernel flushing what it has).
        const target = file.size
        return new Promise<void>((resolve) => {
          setImmediate(() => {
            if (alive()) {
              io.stats.fsyncs++
              if (!io.fsyncIsNoop) file.synced = Math.max(file.synced, Math.min(target, file.size))
            }
            resolve()
          })
        })
      },
      read(position: number, length: number) {
        const end = Math.min(file.size, position + length)
        return file.data.slice(position, Math.max(position, end))
      },
      truncate(size: number) {
        if (!alive()) return
        file.size = Math.min(file.size, size)
        file.synced = Math.min(file.synced, size)
      },
      close() {},
    }
  }
}
