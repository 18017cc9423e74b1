// The HTTP/1.1 response reader of one upstream connection: finds the head, then frames the body
// (Content-Length, chunked with extensions and trailers, or close-delimited) and hands body bytes
// to the connection as they arrive. It owns no socket and no timer; what it finds goes to its sink.
import { addHeader, ResponseHead, type Headers } from './upstream-response-head.js'
import { findHeadEnd, isFieldValue, isToken } from './field-chars.js'

const MAX_HEAD_BYTES = 64 * 1024
const MAX_CHUNK_LINE = 4096

const State = { HEAD: 0, BODY: 1, CHUNK_SIZE: 2, CHUNK_DATA: 3, CHUNK_CRLF: 4, TRAILERS: 5, UNTIL_CLOSE: 6 } as const
type State = (typeof State)[keyof typeof State]

/**
 * The connection the parser reads for. Callbacks that return a boolean say whether to go on
 * parsing this read; the parser also stops when `job` changes or `dead` turns true.
 */
export interface ResponseSink<J extends { readonly paused: boolean }> {
  /** The request whose answer is being read; undefined when none is out. */
  readonly job: J | undefined
  readonly dead: boolean
  drop(): void
  /** The response is malformed: fails the request and drops the connection. */
  protocol(message: string): false
  /** A final (not 1xx) head was read. */
  started(job: J, status: number, headers: Headers, reason: string): boolean
  /** Body bytes; `chunk` is the caller's to keep. */
  data(job: J, chunk: Buffer): boolean
  /** The response ended; `extra`: more bytes followed it in this read. */
  complete(extra: boolean): false
}

export class ResponseParser<J extends { readonly paused: boolean }> {
  readonly #conn: ResponseSink<J>
  readonly #parsed = new ResponseHead()
  #state: State = State.HEAD
  #head = ''
  #scanned = 0
  #remaining = 0
  #line = ''
  #trailers: Headers = {}
  #keepAlive = true
  #gotBytes = false
  #noBody = false
  /** Bytes read while the job was paused, parsed on resume(). */
  #pending: Buffer | undefined = undefined

  constructor(conn: ResponseSink<J>) {
    this.#conn = conn
  }

  /** Any byte arrived since reset(). */
  get gotBytes(): boolean {
    return this.#gotBytes
  }

  /** Still waiting for (the rest of) the head. */
  get readingHead(): boolean {
    return this.#state === State.HEAD
  }

  /** The connection may carry another request after this response. */
  get keepAlive(): boolean {
    return this.#keepAlive
  }

  /** Ready for the answer to a new request (`noBody`: it was a HEAD request). */
  reset(noBody: boolean): void {
    this.#state = State.HEAD
    this.#head = ''
    this.#scanned = 0
    this.#gotBytes = false
    this.#keepAlive = true
    this.#pending = undefined
    this.#noBody = noBody
  }

  /** The upstream ended its side: true when that ends a close-delimited body. */
  endOfStream(): boolean {
    if (this.#state !== State.UNTIL_CLOSE) return false
    this.#keepAlive = false
    return true
  }

  /** The trailers of the response that just ended. */
  takeTrailers(): Headers {
    const trailers = this.#trailers
    this.#trailers = {}
    return trailers
  }

  /** Parses the bytes held while the job was paused. */
  resume(): void {
    const p = this.#pending
    this.#pending = undefined
    if (p !== undefined) this.feed(p)
  }

  /** Parses bytes from the socket; false pauses reading. `view` is reused after return: copy what is kept. */
  feed(view: Buffer): boolean {
    const conn = this.#conn
    let i = 0
    while (i < view.length) {
      const job = conn.job
      if (job === undefined || conn.dead) {
        // Bytes while no request is out: the server is not speaking HTTP/1.1 request-response.
        conn.drop()
        return false
      }
      this.#gotBytes = true
      if (job.paused) {
        const rest = Buffer.from(view.subarray(i))
        this.#pending = this.#pending === undefined ? rest : Buffer.concat([this.#pending, rest])
        return false
      }
      switch (this.#state) {
        case State.HEAD: {
          if (this.#head === '') {
            // Usual case: the whole head is in this read; only the head becomes a string.
            const end = findHeadEnd(view, i)
            if (end - i > MAX_HEAD_BYTES) return conn.protocol('response head too large')
            if (end >= 0) {
              const text = view.toString('latin1', i, end)
              i = end + 4
              if (!this.#onHead(job, text, i < view.length)) return false
              break
            }
          }
          const before = this.#head.length
          this.#head += view.toString('latin1', i)
          const end = this.#head.indexOf('\r\n\r\n', this.#scanned)
          // The limit holds wherever the head ends: in this read or a later one.
          if (end > MAX_HEAD_BYTES || (end < 0 && this.#head.length > MAX_HEAD_BYTES)) return conn.protocol('response head too large')
          if (end < 0) {
            this.#scanned = Math.max(0, this.#head.length - 3)
            return true
          }
          i += end + 4 - before
          const text = this.#head.slice(0, end)
          this.#head = ''
          this.#scanned = 0
          if (!this.#onHead(job, text, i < view.length)) return false
          break
        }
        case State.BODY:
        case State.CHUNK_DATA: {
          // Counted bytes: a Content-Length body, or the data of one chunk.
          const n = Math.min(this.#remaining, view.length - i)
          this.#remaining -= n
          const chunk = Buffer.from(view.subarray(i, i + n))
          i += n
          if (this.#state === State.BODY) {
            if (!conn.data(job, chunk)) return false
            if (this.#remaining === 0) return conn.complete(i < view.length)
          } else {
            if (this.#remaining === 0) this.#state = State.CHUNK_CRLF
            if (!conn.data(job, chunk)) return false
          }
          break
        }
        case State.UNTIL_CLOSE: {
          const chunk = Buffer.from(view.subarray(i))
          i = view.length
          if (!conn.data(job, chunk)) return false
          break
        }
        case State.CHUNK_SIZE:
        case State.CHUNK_CRLF:
        case State.TRAILERS: {
          const nl = view.indexOf(10, i)
          const stop = nl < 0 ? view.length : nl + 1
          this.#line += view.toString('latin1', i, stop)
          i = stop
          if (nl < 0) {
            if (this.#line.length > MAX_CHUNK_LINE) return conn.protocol('chunk line too long')
            return true
          }
          const line = this.#line
          this.#line = ''
          if (!line.endsWith('\r\n')) return conn.protocol('bare LF in chunked body')
          const content = line.slice(0, -2)
          if (this.#state === State.CHUNK_CRLF) {
            if (content !== '') return conn.protocol('missing CRLF after chunk')
            this.#state = State.CHUNK_SIZE
          } else if (this.#state === State.CHUNK_SIZE) {
            const semi = content.indexOf(';')
            const hex = semi < 0 ? content : content.slice(0, semi)
            if (!/^[0-9A-Fa-f]{1,12}$/.test(hex)) return conn.protocol('bad chunk size')
            const size = parseInt(hex, 16)
            if (size === 0) this.#state = State.TRAILERS
            else {
              this.#remaining = size
              this.#state = State.CHUNK_DATA
            }
          } else {
            if (content === '') return conn.complete(i < view.length)
            const colon = content.indexOf(':')
            const name = colon > 0 ? content.slice(0, colon) : ''
            const value = content.slice(colon + 1).trim()
            if (!isToken(name) || !isFieldValue(value)) return conn.protocol('bad trailer')
            addHeader(this.#trailers, name.toLowerCase(), value)
          }
          break
        }
      }
      if (conn.job !== job) return !conn.dead
    }
    return conn.job === undefined || !conn.job.paused
  }

  /** `extra`: bytes follow the head in this read (a body, or a protocol violation if there is none). */
  #onHead(job: J, text: string, extra: boolean): boolean {
    const conn = this.#conn
    const head = this.#parsed
    const headers: Headers = {}
    const bad = head.parse(text, headers)
    if (bad !== undefined) return conn.protocol(bad)
    const status = head.status
    const http10 = head.http10
    const cl = head.contentLength
    const te = head.transferEncoding
    if (head.close || http10) this.#keepAlive = false
    if (status < 200) {
      // 100 Continue / 103 Early Hints: skip and read the real head; 101 was never asked for.
      if (status === 101) return conn.protocol('unexpected 101')
      return true
    }
    let framing: State | undefined
    if (this.#noBody || status === 204 || status === 304) framing = undefined
    else if (te !== undefined) {
      if (cl !== undefined || http10 || te !== 'chunked') return conn.protocol('unsupported transfer-encoding')
      framing = State.CHUNK_SIZE
    } else if (cl !== undefined) {
      this.#remaining = Number(cl)
      framing = this.#remaining === 0 ? undefined : State.BODY
    } else {
      framing = State.UNTIL_CLOSE
      this.#keepAlive = false
    }
    if (!conn.started(job, status, headers, head.reason)) return false
    if (framing === undefined) {
      conn.complete(extra)
      return false
    }
    this.#state = framing
    this.#trailers = {}
    return true
  }
}
