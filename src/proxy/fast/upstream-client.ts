// A raw keep-alive HTTP/1.1 client for one upstream server: a pool of net sockets, one request at
// a time per socket, a strict response parser (Content-Length, chunked, or close-delimited bodies
// streamed through without buffering), and the undici dispatch-handler callbacks, so the
// upstream exchange drives it exactly like undici. It takes only requests without a body whose
// head it can write verbatim; dispatch() returns false for anything else (undici sends those).
import { connect, type Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { hasToken, trimOws } from './request-head.js'
import { BAD_VALUE_RE, serializeRequestHead, TOKEN_RE } from './upstream-request-head.js'

export interface FastUpstreamOptions {
  host: string
  port: number
  /** Value of the Host header when the request has none. */
  hostHeader: string
  maxConnections: number
  connectTimeoutMs: number
  keepAliveTimeoutMs: number
}

const STATUS_RE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/
const MAX_HEAD_BYTES = 64 * 1024
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1')
const MAX_CHUNK_LINE = 4096
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
const READ_BUFFER_BYTES = 64 * 1024

const State = { HEAD: 0, BODY: 1, CHUNK_SIZE: 2, CHUNK_DATA: 3, CHUNK_CRLF: 4, TRAILERS: 5, UNTIL_CLOSE: 6 } as const
type State = (typeof State)[keyof typeof State]

function error(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

type Headers = Record<string, string | string[]>

class Job implements Dispatcher.DispatchController {
  readonly head: string
  readonly method: string
  readonly handler: Dispatcher.DispatchHandler
  readonly headersTimeoutMs: number
  readonly bodyTimeoutMs: number
  readonly pool: FastUpstream
  conn: UpConn | undefined = undefined
  done = false
  retried = false
  aborted = false
  paused = false
  reason: Error | null = null

  constructor(pool: FastUpstream, head: string, method: string, handler: Dispatcher.DispatchHandler, headersTimeoutMs: number, bodyTimeoutMs: number) {
    this.pool = pool
    this.head = head
    this.method = method
    this.handler = handler
    this.headersTimeoutMs = headersTimeoutMs
    this.bodyTimeoutMs = bodyTimeoutMs
  }

  abort(reason: Error): void {
    if (this.done) return
    this.aborted = true
    this.reason = reason
    const conn = this.conn
    if (conn !== undefined) conn.drop()
    else this.pool.unqueue(this)
    this.fail(reason)
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.conn?.resume()
  }

  /** Ends the job with an error (once). */
  fail(err: Error): void {
    if (this.done) return
    this.done = true
    this.conn = undefined
    try {
      this.handler.onResponseError?.(this, err)
    } catch {
      // a handler must not throw; never let it reach a socket event
    }
  }
}

class UpConn {
  readonly socket: Socket
  readonly #pool: FastUpstream
  job: Job | undefined = undefined
  connected = false
  dead = false
  uses = 0
  #state: State = State.HEAD
  #head = ''
  #scanned = 0
  #remaining = 0
  #line = ''
  #trailers: Headers = {}
  #keepAlive = true
  #gotBytes = false
  #noBody = false
  #pending: Buffer | undefined = undefined
  /** The socket's current inactivity timeout (set only when it changes: no timer work per request). */
  #timeoutMs = -1
  /** ms timestamp when it went idle in the pool (the pool's sweep closes it after keepAliveTimeoutMs). */
  idleSince = 0
  /** The response ended while the handler was paused: deliver the end on resume. */
  #endDeferred: boolean | undefined = undefined

  constructor(pool: FastUpstream, opts: FastUpstreamOptions) {
    this.#pool = pool
    this.socket = connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        // false stops reading (readStop) until resume(): the handler paused.
        callback: (n: number, buf: Buffer) => {
          this.#feed(buf.subarray(0, n))
          return !this.dead && this.job?.paused !== true
        },
      },
    })
    this.#setTimeout(opts.connectTimeoutMs)
    this.socket.on('connect', () => {
      this.connected = true
      const job = this.job
      if (job !== undefined) {
        this.#setTimeout(job.headersTimeoutMs)
        this.socket.write(job.head, 'latin1')
      }
    })
    this.socket.on('timeout', () => {
      const job = this.job
      if (job === undefined) {
        this.drop()
        return
      }
      const err = !this.connected
        ? error('UND_ERR_CONNECT_TIMEOUT', 'connect timeout')
        : this.#state === State.HEAD
          ? error('UND_ERR_HEADERS_TIMEOUT', 'upstream headers timeout')
          : error('UND_ERR_BODY_TIMEOUT', 'upstream body timeout')
      this.drop()
      job.fail(err)
    })
    this.socket.on('end', () => {
      if (this.job !== undefined && this.#state === State.UNTIL_CLOSE) {
        this.#keepAlive = false
        this.#complete(false)
        return
      }
      this.#lost(error('UND_ERR_SOCKET', 'upstream closed the connection'))
    })
    this.socket.on('error', (err) => this.#lost(err))
    this.socket.on('close', () => this.#lost(error('UND_ERR_SOCKET', 'upstream connection closed')))
  }

  start(job: Job): void {
    this.job = job
    job.conn = this
    this.uses++
    this.#state = State.HEAD
    this.#head = ''
    this.#scanned = 0
    this.#gotBytes = false
    this.#keepAlive = true
    this.#pending = undefined
    this.#endDeferred = undefined
    this.#noBody = job.method === 'HEAD'
    this.idleSince = 0
    if (this.connected) {
      this.#setTimeout(job.headersTimeoutMs)
      this.socket.write(job.head, 'latin1')
    }
  }

  #setTimeout(ms: number): void {
    if (ms === this.#timeoutMs) return
    this.#timeoutMs = ms
    this.socket.setTimeout(ms)
  }

  /** Closes the socket and leaves the pool (the job, if any, is the caller's to fail). */
  drop(): void {
    if (this.dead) return
    this.dead = true
    const job = this.job
    this.job = undefined
    if (job !== undefined) job.conn = undefined
    this.socket.destroy()
    this.#pool.removed(this)
  }

  resume(): void {
    if (this.#endDeferred !== undefined) {
      this.#complete(this.#endDeferred)
      if (!this.dead) this.socket.resume()
      return
    }
    const p = this.#pending
    this.#pending = undefined
    if (p !== undefined) this.#feed(p)
    if (!this.dead && this.job?.paused !== true) this.socket.resume()
  }

  #lost(err: Error): void {
    if (this.#endDeferred !== undefined && this.job !== undefined) {
      // The whole answer is in; only its end waits for the paused handler: no failure to report.
      if (!this.dead) {
        this.dead = true
        this.#pool.removed(this)
      }
      return
    }
    const job = this.job
    const reused = this.uses > 1
    this.drop()
    if (job === undefined || job.done) return
    // A keep-alive connection the server closed just as we reused it: nothing was answered, so an
    // idempotent request goes once more on a fresh connection (what undici and nginx do too).
    if (!this.#gotBytes && reused && !job.retried && IDEMPOTENT.has(job.method)) {
      job.retried = true
      this.#pool.requeue(job)
      return
    }
    job.fail(err)
  }

  #protocol(message: string): false {
    const job = this.job
    this.drop()
    job?.fail(error('UND_ERR_PROTOCOL', `bad response from upstream: ${message}`))
    return false
  }

  /** Parses bytes from the socket; false pauses reading. `view` is reused after return: copy what is kept. */
  #feed(view: Buffer): boolean {
    let i = 0
    while (i < view.length) {
      const job = this.job
      if (job === undefined || this.dead) {
        // Bytes while no request is out: the server is not speaking HTTP/1.1 request-response.
        this.drop()
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
            const end = view.indexOf(HEAD_END, i)
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
          if (end < 0) {
            if (this.#head.length > MAX_HEAD_BYTES) return this.#protocol('response head too large')
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
        case State.BODY: {
          const n = Math.min(this.#remaining, view.length - i)
          this.#remaining -= n
          const chunk = Buffer.from(view.subarray(i, i + n))
          i += n
          if (!this.#data(job, chunk)) return false
          if (this.#remaining === 0) return this.#complete(i < view.length)
          break
        }
        case State.UNTIL_CLOSE: {
          const chunk = Buffer.from(view.subarray(i))
          i = view.length
          if (!this.#data(job, chunk)) return false
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
            if (this.#line.length > MAX_CHUNK_LINE) return this.#protocol('chunk line too long')
            return true
          }
          const line = this.#line
          this.#line = ''
          if (!line.endsWith('\r\n')) return this.#protocol('bare LF in chunked body')
          const content = line.slice(0, -2)
          if (this.#state === State.CHUNK_CRLF) {
            if (content !== '') return this.#protocol('missing CRLF after chunk')
            this.#state = State.CHUNK_SIZE
          } else if (this.#state === State.CHUNK_SIZE) {
            const semi = content.indexOf(';')
            const hex = semi < 0 ? content : content.slice(0, semi)
            if (!/^[0-9A-Fa-f]{1,12}$/.test(hex)) return this.#protocol('bad chunk size')
            const size = parseInt(hex, 16)
            if (size === 0) this.#state = State.TRAILERS
            else {
              this.#remaining = size
              this.#state = State.CHUNK_DATA
            }
          } else {
            if (content === '') return this.#complete(i < view.length)
            const colon = content.indexOf(':')
            const name = colon > 0 ? content.slice(0, colon) : ''
            const value = content.slice(colon + 1).trim()
            if (!TOKEN_RE.test(name) || BAD_VALUE_RE.test(value)) return this.#protocol('bad trailer')
            add(this.#trailers, name.toLowerCase(), value)
          }
          break
        }
        case State.CHUNK_DATA: {
          const n = Math.min(this.#remaining, view.length - i)
          this.#remaining -= n
          const chunk = Buffer.from(view.subarray(i, i + n))
          i += n
          if (this.#remaining === 0) this.#state = State.CHUNK_CRLF
          if (!this.#data(job, chunk)) return false
          break
        }
      }
      if (this.job !== job) return !this.dead
    }
    return this.job === undefined || !this.job.paused
  }

  #data(job: Job, chunk: Buffer): boolean {
    try {
      job.handler.onResponseData?.(job, chunk)
    } catch (err) {
      this.drop()
      job.fail(err as Error)
      return false
    }
    return !this.dead && this.job === job
  }

  /** `extra`: bytes follow the head in this read (a body, or a protocol violation if there is none). */
  #onHead(job: Job, text: string, extra: boolean): boolean {
    const eol = text.indexOf('\r\n')
    const m = STATUS_RE.exec(eol < 0 ? text : text.slice(0, eol))
    if (m === null) return this.#protocol('bad status line')
    const status = Number(m[2])
    const http10 = m[1] === '0'
    const headers: Headers = {}
    let cl: string | undefined
    let te: string | undefined
    let pos = eol < 0 ? text.length : eol + 2
    while (pos < text.length) {
      let next = text.indexOf('\r\n', pos)
      if (next < 0) next = text.length
      const colon = text.indexOf(':', pos)
      if (colon <= pos || colon > next) return this.#protocol('bad header line')
      const name = text.slice(pos, colon)
      if (!TOKEN_RE.test(name)) return this.#protocol('bad header name')
      const value = trimOws(text.slice(colon + 1, next))
      pos = next + 2
      if (BAD_VALUE_RE.test(value)) return this.#protocol('bad header value')
      const lower = name.toLowerCase()
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (cl !== undefined && cl !== value)) return this.#protocol('bad content-length')
        cl = value
        if (headers[lower] !== undefined) continue
      } else if (lower === 'transfer-encoding') {
        if (te !== undefined) return this.#protocol('repeated transfer-encoding')
        te = value.toLowerCase()
      } else if (lower === 'connection') {
        if (hasToken(value, 'close')) this.#keepAlive = false
      }
      add(headers, lower, value)
    }
    if (http10) this.#keepAlive = false
    if (status < 200) {
      // 100 Continue / 103 Early Hints: skip and read the real head; 101 was never asked for.
      if (status === 101) return this.#protocol('unexpected 101')
      return true
    }
    let framing: State | undefined
    if (this.#noBody || status === 204 || status === 304) framing = undefined
    else if (te !== undefined) {
      if (cl !== undefined || http10 || te !== 'chunked') return this.#protocol('unsupported transfer-encoding')
      framing = State.CHUNK_SIZE
    } else if (cl !== undefined) {
      this.#remaining = Number(cl)
      framing = this.#remaining === 0 ? undefined : State.BODY
    } else {
      framing = State.UNTIL_CLOSE
      this.#keepAlive = false
    }
    this.#setTimeout(job.bodyTimeoutMs)
    const reason = m[3] ?? ''
    try {
      job.handler.onResponseStart?.(job, status, headers, reason)
    } catch (err) {
      this.drop()
      job.fail(err as Error)
      return false
    }
    if (this.dead || this.job !== job) return false
    if (framing === undefined) {
      this.#complete(extra)
      return false
    }
    this.#state = framing
    this.#trailers = {}
    return true
  }

  /** The response ended; `extra`: more bytes followed it (not ours to reuse). Always false. */
  #complete(extra: boolean): false {
    const job = this.job as Job
    if (job.paused) {
      this.#endDeferred = extra
      return false
    }
    this.#endDeferred = undefined
    const trailers = this.#trailers
    this.#trailers = {}
    this.job = undefined
    job.conn = undefined
    job.done = true
    if (this.#keepAlive && !extra && !this.dead) this.#pool.release(this)
    else this.drop()
    try {
      job.handler.onResponseEnd?.(job, trailers)
    } catch {
      // nothing more to do for this request
    }
    return false
  }

  idle(now: number): void {
    this.idleSince = now
  }
}

function add(h: Headers, name: string, value: string): void {
  const prev = h[name]
  if (prev === undefined) h[name] = value
  else if (Array.isArray(prev)) prev.push(value)
  else h[name] = [prev, value]
}

export class FastUpstream {
  readonly #opts: FastUpstreamOptions
  readonly #idle: UpConn[] = []
  readonly #queue: Job[] = []
  #count = 0
  #closed = false
  #sweep: NodeJS.Timeout | undefined

  constructor(opts: FastUpstreamOptions) {
    this.#opts = opts
  }

  /** Open sockets (for tests and the admin view). */
  get connections(): number {
    return this.#count
  }

  /** Starts the request; false (before any callback) when it is not one this client sends. */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closed || opts.body !== null && opts.body !== undefined) return false
    const head = serializeRequestHead(opts.method, opts.path, opts.headers as Record<string, string | string[] | undefined> | undefined, this.#opts.hostHeader)
    if (head === undefined) return false
    const job = new Job(this, head, opts.method, handler, opts.headersTimeout ?? 300_000, opts.bodyTimeout ?? 300_000)
    try {
      handler.onRequestStart?.(job, {})
    } catch (err) {
      job.fail(err as Error)
      return true
    }
    if (!job.done) this.#assign(job)
    return true
  }

  #assign(job: Job): void {
    let c = this.#idle.pop()
    while (c !== undefined && c.dead) c = this.#idle.pop()
    if (c !== undefined) {
      c.start(job)
      return
    }
    if (this.#count < this.#opts.maxConnections) {
      this.#count++
      const conn = new UpConn(this, this.#opts)
      conn.start(job)
      return
    }
    this.#queue.push(job)
  }

  requeue(job: Job): void {
    if (this.#closed) {
      job.fail(error('UND_ERR_CLOSED', 'upstream client closed'))
      return
    }
    this.#assign(job)
  }

  unqueue(job: Job): void {
    const i = this.#queue.indexOf(job)
    if (i >= 0) this.#queue.splice(i, 1)
  }

  release(conn: UpConn): void {
    if (this.#closed) {
      conn.drop()
      return
    }
    const next = this.#queue.shift()
    if (next !== undefined) {
      conn.start(next)
      return
    }
    conn.idle(Date.now())
    this.#idle.push(conn)
    if (this.#sweep === undefined) {
      // One coarse timer per server closes keep-alive sockets idle longer than keepAliveTimeoutMs.
      this.#sweep = setInterval(() => this.#closeIdle(), Math.min(1000, Math.max(50, this.#opts.keepAliveTimeoutMs / 4)))
      this.#sweep.unref()
    }
  }

  #closeIdle(): void {
    const limit = Date.now() - this.#opts.keepAliveTimeoutMs
    // The stack's bottom holds the longest idle ones.
    while (this.#idle.length > 0 && (this.#idle[0] as UpConn).idleSince <= limit) (this.#idle.shift() as UpConn).drop()
    if (this.#idle.length === 0 || this.#closed) {
      clearInterval(this.#sweep)
      this.#sweep = undefined
    }
  }

  removed(conn: UpConn): void {
    this.#count--
    const i = this.#idle.indexOf(conn)
    if (i >= 0) this.#idle.splice(i, 1)
    if (this.#closed) return
    const next = this.#queue.shift()
    if (next !== undefined) this.#assign(next)
  }

  /** Closes idle sockets and refuses new requests; in-flight ones finish. */
  close(): void {
    this.#closed = true
    clearInterval(this.#sweep)
    this.#sweep = undefined
    for (const c of this.#idle.splice(0)) c.drop()
    for (const j of this.#queue.splice(0)) j.fail(error('UND_ERR_CLOSED', 'upstream client closed'))
  }
}
