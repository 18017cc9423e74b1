// The access-log file: appended with synchronous writes, one per batch of lines, as nginx writes
// its access_log (and as pino.destination does by default). A synchronous append of a few KiB to
// the page cache costs less than handing it to the thread pool, each batch of whole lines is one
// O_APPEND write (worker processes sharing the file never split each other's lines), and the
// caller's buffer is free again when write() returns.
//
// A failed write (disk full, file system gone) loses that batch, never the process: the error is
// reported once, then at most every 10 s with the count of lost lines' bytes, while requests go
// on being served, as nginx goes on serving when its access_log write fails.
import { closeSync, openSync, writeSync } from 'node:fs'
import type { AccessLogSink } from './access-log.js'

const REPORT_EVERY_MS = 10_000

export class AccessLogFile implements AccessLogSink {
  readonly copies = true
  readonly path: string
  #fd: number
  readonly #onError: (err: Error, lostBytes: number) => void
  #lostBytes = 0
  #lastReport = 0

  /** Opens (creates) `path` for appending; throws what open(2) throws. */
  constructor(path: string, onError: (err: Error, lostBytes: number) => void) {
    this.path = path
    this.#fd = openSync(path, 'a', 0o644)
    this.#onError = onError
  }

  write(bytes: Uint8Array): void {
    if (this.#fd < 0) return
    let off = 0
    try {
      while (off < bytes.length) off += writeSync(this.#fd, bytes, off, bytes.length - off)
    } catch (err) {
      this.#lostBytes += bytes.length - off
      const now = Date.now()
      if (now - this.#lastReport >= REPORT_EVERY_MS) {
        this.#lastReport = now
        const lost = this.#lostBytes
        this.#lostBytes = 0
        this.#onError(err as Error, lost)
      }
    }
  }

  close(): void {
    if (this.#fd < 0) return
    const fd = this.#fd
    this.#fd = -1
    try {
      closeSync(fd)
    } catch {
      // already gone
    }
  }
}
