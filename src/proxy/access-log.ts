// JSON access log: one line per request, written in batches (one write per event-loop turn).
import type { Writable } from 'node:stream'
import { accessLogLine } from './access-log-line.js'
import type { AccessLogRecord } from './plugin-api.js'

export class AccessLog {
  readonly #out: Writable
  #buffer: string[] = []
  #scheduled = false

  constructor(out: Writable) {
    this.#out = out
  }

  write(record: AccessLogRecord): void {
    this.#buffer.push(accessLogLine(record))
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.#scheduled = false
    if (this.#buffer.length === 0) return
    const text = `${this.#buffer.join('\n')}\n`
    this.#buffer = []
    this.#out.write(text)
  }
}
