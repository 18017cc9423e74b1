// A raw keep-alive HTTP/1.1 client for one upstream server: a pool of net sockets, one request at
// a time per socket (its answer read by upstream-response-parser.ts, bodies streamed through
// without buffering), and the undici dispatch-handler callbacks, so the upstream exchange drives
// it exactly like undici. It takes only requests without a body whose head it can write verbatim;
// dispatch() returns false for anything else (undici sends those).
import { connect, type Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { sweepEvery } from '../../internal/timers.js'
import { IDEMPOTENT_METHODS } from '../idempotent.js'
import { holdWrites } from './held-writes.js'
import { serializeRequestHead } from './upstream-request-head.js'
import type { Headers } from './upstream-response-head.js'
import { ResponseParser } from './upstream-response-parser.js'

export interface FastUpstreamOptions {
  host: string
  port: number
  /** Value of the Host header when the request has none. */
  hostHeader: string
  maxConnections: number
  connectTimeoutMs: number
  keepAliveTimeoutMs: number
}

/**
 * One read buffer shared by every upstream socket of the process: a read's bytes are parsed (and
 * what is kept copied out) inside the synchronous onread callback, so no read can overwrite another
 * socket's bytes before they are used. Shared, it can be large: a 100 KiB response usually arrives
 * in one read (one parse, one copy, one write to the client) instead of two, and memory no longer
 * grows by a buffer per upstream connection.
 */
const READ_BUFFER_BYTES = 256 * 1024
let sharedReadBuffer: Buffer | undefined
const readBuffer = (): Buffer => (sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES))

/** undici's codes for the same failures, so one classification (upstream-exchange.ts) serves both clients. */
export type UpstreamClientErrorCode = 'UND_ERR_CONNECT_TIMEOUT' | 'UND_ERR_HEADERS_TIMEOUT' | 'UND_ERR_BODY_TIMEOUT' | 'UND_ERR_SOCKET' | 'UND_ERR_PROTOCOL' | 'UND_ERR_CLOSED'

/** A failure of the fast path's upstream client, coded as undici codes the same failure. */
export class UpstreamClientError extends Error {
  readonly code: UpstreamClientErrorCode

  constructor(code: UpstreamClientErrorCode, message: string) {
    super(message)
    this.code = code
    this.name = 'UpstreamClientError'
  }
}

function error(code: UpstreamClientErrorCode, message: string): UpstreamClientError {
  return new UpstreamClientError(code, message)
}

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
  readonly #parser: ResponseParser<Job> = new ResponseParser<Job>(this)
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
        buffer: readBuffer(),
        // false stops reading (readStop) until resume(): the handler paused.
        callback: (n: number, buf: Buffer) => {
          this.#parser.feed(buf.subarray(0, n))
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
        holdWrites(this.socket)
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
        : this.#parser.readingHead
          ? error('UND_ERR_HEADERS_TIMEOUT', 'upstream headers timeout')
          : error('UND_ERR_BODY_TIMEOUT', 'upstream body timeout')
      this.drop()
      job.fail(err)
    })
    this.socket.on('end', () => {
      if (this.job !== undefined && this.#parser.endOfStream()) {
        this.complete(false)
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
    this.#parser.reset(job.method === 'HEAD')
    this.#endDeferred = undefined
    this.idleSince = 0
    if (this.connected) {
      this.#setTimeout(job.headersTimeoutMs)
      holdWrites(this.socket)
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
      this.complete(this.#endDeferred)
      if (!this.dead) this.socket.resume()
      return
    }
    this.#parser.resume()
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
    if (!this.#parser.gotBytes && reused && !job.retried && IDEMPOTENT_METHODS.has(job.method)) {
      job.retried = true
      this.#pool.requeue(job)
      return
    }
    job.fail(err)
  }

  /** The response is malformed: fails the request and drops the connection. */
  protocol(message: string): false {
    const job = this.job
    this.drop()
    job?.fail(error('UND_ERR_PROTOCOL', `bad response from upstream: ${message}`))
    return false
  }

  /** Body bytes for the handler; false when the request ended or the connection died meanwhile. */
  data(job: Job, chunk: Buffer): boolean {
    try {
      job.handler.onResponseData?.(job, chunk)
    } catch (err) {
      this.drop()
      job.fail(err as Error)
      return false
    }
    return !this.dead && this.job === job
  }

  /** A final head arrived: the body timeout starts and the handler gets the head. */
  started(job: Job, status: number, headers: Headers, reason: string): boolean {
    this.#setTimeout(job.bodyTimeoutMs)
    try {
      job.handler.onResponseStart?.(job, status, headers, reason)
    } catch (err) {
      this.drop()
      job.fail(err as Error)
      return false
    }
    return !this.dead && this.job === job
  }

  /** The response ended; `extra`: more bytes followed it (not ours to reuse). Always false. */
  complete(extra: boolean): false {
    const job = this.job as Job
    if (job.paused) {
      this.#endDeferred = extra
      return false
    }
    this.#endDeferred = undefined
    const trailers = this.#parser.takeTrailers()
    this.job = undefined
    job.conn = undefined
    job.done = true
    if (this.#parser.keepAlive && !extra && !this.dead) this.#pool.release(this)
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

export class FastUpstream {
  readonly #opts: FastUpstreamOptions
  readonly #idle: UpConn[] = []
  readonly #queue: Job[] = []
  #count = 0
  #closed = false
  /** Stops the idle sweep; undefined while no socket is idle. */
  #stopSweep: (() => void) | undefined

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
    // A coarse sweep (shared with others of the same period) closes keep-alive sockets idle
    // longer than keepAliveTimeoutMs.
    this.#stopSweep ??= sweepEvery(Math.min(1000, Math.max(50, this.#opts.keepAliveTimeoutMs / 4)), () => this.#closeIdle())
  }

  #closeIdle(): void {
    const limit = Date.now() - this.#opts.keepAliveTimeoutMs
    // The stack's bottom holds the longest idle ones.
    while (this.#idle.length > 0 && (this.#idle[0] as UpConn).idleSince <= limit) (this.#idle.shift() as UpConn).drop()
    if (this.#idle.length === 0 || this.#closed) {
      this.#stopSweep?.()
      this.#stopSweep = undefined
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
    this.#stopSweep?.()
    this.#stopSweep = undefined
    for (const c of this.#idle.splice(0)) c.drop()
    for (const j of this.#queue.splice(0)) j.fail(error('UND_ERR_CLOSED', 'upstream client closed'))
  }
}
