// JSON access log: one line per request, encoded straight into a byte buffer and written in
// batches: at most FLUSH_MS after a batch's first line, or as soon as the buffer fills (as nginx's
// `access_log ... buffer= flush=`). Under load a write carries tens of KiB, not a turn's few lines.
import type { Writable } from 'node:stream'
import { accessLogLine, encodeAccessLogLine } from './access-log-line.js'
import type { AccessLogRecord } from './plugin-api.js'

/**
 * Where the lines go. A sink that `copies` is done with the bytes when write() returns (a file
 * written synchronously), so the log reuses its buffer; any other Writable gets a copy.
 */
export interface AccessLogSink {
  readonly copies: true
  write(bytes: Uint8Array): void
}

const BUFFER_BYTES = 64 * 1024
/** How long a line may wait in the buffer. */
const FLUSH_MS = 10

export class AccessLog {
  readonly #out: Writable | AccessLogSink
  readonly #reuse: boolean
  #buf = Buffer.allocUnsafeSlow(BUFFER_BYTES)
  #used = 0
  #scheduled = false

  constructor(out: Writable | AccessLogSink) {
    this.#out = out
    this.#reuse = (out as Partial<AccessLogSink>).copies === true
  }

  write(record: AccessLogRecord): void {
    const buf = this.#buf
    let end = encodeAccessLogLine(record, buf, this.#used)
    if (end > buf.length - 1 && this.#used > 0) {
      // The line did not fit behind the others: send those, then encode it again at the start.
      this.flush()
      end = encodeAccessLogLine(record, buf, 0)
    }
    if (end >= 0 && end < buf.length) {
      buf[end] = 0x0a
      this.#used = end + 1
    } else {
      // The exact generic path (escapes, non-ASCII, other shapes), or a line as long as the buffer.
      const bytes = Buffer.from(`${accessLogLine(record)}\n`, 'utf8')
      if (this.#used + bytes.length > buf.length) this.flush()
      if (bytes.length > buf.length) this.#out.write(bytes)
      else {
        bytes.copy(buf, this.#used)
        this.#used += bytes.length
      }
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setTimeout(() => {
        this.#scheduled = false
        this.flush()
      }, FLUSH_MS)
    }
  }

  flush(): void {
    if (this.#used === 0) return
    const bytes = this.#buf.subarray(0, this.#used)
    this.#used = 0
    this.#out.write(this.#reuse ? bytes : Buffer.from(bytes))
  }
}
