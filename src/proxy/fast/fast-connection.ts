// One client connection on the fast path: parses request heads itself (request-head.ts), serves
// one request at a time through the proxy core with FastRequest/FastResponse, and hands the
// connection to node:http at a request boundary as soon as a request is not the simple case
// (or the config turns the fast path off). After a hand-over node:http owns the socket for good.
import type { Socket } from 'node:net'
import { FastRequest, FastResponse, type ResponseOwner } from './fast-message.js'
import { HeadResult, parseRequestHead, type HeadLimits } from './request-head.js'

export interface FastHost {
  /** node:http's current limits (the protection layer may have changed them). */
  limits(): HeadLimits
  /** May the current config generation serve requests on the fast path? */
  eligible(): boolean
  /** Runs the proxy core for one request. */
  serve(req: FastRequest, res: FastResponse): void
  /** Gives the socket to node:http; `rest` are bytes read but not parsed. */
  handOver(socket: Socket, rest: Buffer): void
  /** Requests per connection (0: unlimited), like server.maxRequestsPerSocket. */
  maxRequestsPerSocket(): number
  readonly keepAliveHeader: string
}

const EMPTY = Buffer.alloc(0)
/** Bytes read ahead while a request is in flight before reading pauses (pipelining bound). */
const READ_AHEAD_BYTES = 256 * 1024
/** Lingering close (nginx's lingering_timeout / lingering_time): quiet for this long, or this long in all. */
const LINGER_IDLE_MS = 5_000
const LINGER_MAX_MS = 30_000
/**
 * After the client half-closes, how long what it sent before may still be answered. A FIN says
 * "no more requests", not "no answer wanted" (`printf ... | nc`, scripted clients), but a client
 * that closed its socket for good sends the same FIN, and its upstream requests are waste: they
 * are cancelled at this deadline (nginx cancels at once, HAProxy without abortonclose never).
 */
const HALF_CLOSE_ANSWER_MS = 1_000

/**
 * Ends our side and reads (discarding) what the client still sends until it closes too, at most
 * LINGER_IDLE_MS without data or LINGER_MAX_MS in all. Closing a socket with unread bytes makes
 * the kernel answer with a reset, and a reset destroys answers the client has not read yet: a
 * client that pipelined past maxRequestsPerConnection lost most of the answers already sent
 * (104 of 1000 arrived). nginx does the same (lingering_close).
 */
function lingeringClose(socket: Socket): void {
  const done = (): void => {
    clearTimeout(cap)
    socket.destroy()
  }
  const cap = setTimeout(done, LINGER_MAX_MS)
  cap.unref()
  socket.on('data', () => {})
  socket.once('end', done)
  socket.once('close', () => clearTimeout(cap))
  socket.setTimeout(LINGER_IDLE_MS, done)
  socket.end()
  socket.resume()
}

export class FastConnection implements ResponseOwner {
  readonly socket: Socket
  readonly #host: FastHost
  readonly #registry: Set<FastConnection>
  #buf: Buffer = EMPTY
  #off = 0
  /** Where the next search for the end of the head starts (heads arriving byte by byte). */
  #scanned = 0
  #busy: FastResponse | undefined
  #driving = false
  #requests = 0
  #ended = false
  #gone = false
  #closing = false
  /** ms timestamp: a request head is incomplete since then (0: none pending). */
  headSince: number
  /** ms timestamp: idle between requests since then (0: busy or reading a head). */
  idleSince = 0
  /** Set when the client half-closed with work left: cancels what is still unanswered (HALF_CLOSE_ANSWER_MS). */
  #halfCloseTimer: NodeJS.Timeout | undefined = undefined
  readonly #onData = (chunk: Buffer): void => this.#data(chunk)
  // The client half-closed: the requests it sent completely are answered, one at a time as ever,
  // for HALF_CLOSE_ANSWER_MS; then what is still in flight is aborted (its upstream request
  // cancelled) and the connection ends. A truncated head or nothing left: it ends now.
  readonly #onEnd = (): void => {
    this.#ended = true
    if (this.#busy === undefined) this.#drive()
    if (this.#gone) return
    this.#halfCloseTimer = setTimeout(this.#halfCloseExpired, HALF_CLOSE_ANSWER_MS)
    this.#halfCloseTimer.unref()
  }
  readonly #halfCloseExpired = (): void => {
    this.#halfCloseTimer = undefined
    if (this.#gone) return
    this.#closed()
    this.socket.destroy()
  }
  readonly #onClose = (): void => this.#closed()
  readonly #onError = (): void => {}

  constructor(socket: Socket, host: FastHost, registry: Set<FastConnection>) {
    this.socket = socket
    this.#host = host
    this.#registry = registry
    this.headSince = Date.now()
    registry.add(this)
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('close', this.#onClose)
    socket.on('error', this.#onError)
  }

  get keepAliveHeader(): string {
    return this.#host.keepAliveHeader
  }

  get busy(): boolean {
    return this.#busy !== undefined
  }

  #data(chunk: Buffer): void {
    if (this.#off >= this.#buf.length) {
      this.#buf = chunk
      this.#off = 0
      this.#scanned = 0
    } else {
      const rest = this.#buf.subarray(this.#off)
      this.#scanned -= this.#off
      this.#buf = Buffer.concat([rest, chunk])
      this.#off = 0
    }
    if (this.#busy !== undefined) {
      if (this.#buf.length - this.#off > READ_AHEAD_BYTES) this.socket.pause()
      return
    }
    this.#drive()
  }

  /** Serves complete heads one at a time until one is in flight, a head is partial, or a hand-over. */
  #drive(): void {
    if (this.#driving || this.#gone) return
    this.#driving = true
    try {
      while (this.#busy === undefined && !this.#gone) {
        if (this.#off >= this.#buf.length) {
          this.#buf = EMPTY
          this.#off = 0
          this.#scanned = 0
          if (this.#ended || this.#closing) {
            this.#end()
            return
          }
          this.headSince = 0
          this.idleSince = Date.now()
          if (this.socket.isPaused()) this.socket.resume()
          return
        }
        this.idleSince = 0
        if (!this.#host.eligible()) {
          this.#handOver()
          return
        }
        const limits = this.#host.limits()
        const head = parseRequestHead(this.#buf, this.#off, limits, this.#scanned)
        if (head === HeadResult.PARTIAL) {
          if (this.#ended) {
            // A truncated head and then EOF: nothing to answer.
            this.#end()
            return
          }
          if (this.headSince === 0) this.headSince = Date.now()
          this.#scanned = Math.max(this.#off, this.#buf.length - 3)
          if (this.socket.isPaused()) this.socket.resume()
          return
        }
        if (head === HeadResult.DECLINE) {
          this.#handOver()
          return
        }
        this.#off = head.end
        this.#scanned = head.end
        this.headSince = 0
        this.#requests++
        const max = this.#host.maxRequestsPerSocket()
        const close = head.close || this.#closing || (max > 0 && this.#requests >= max)
        const req = new FastRequest(head.method, head.url, head.headers, head.rawHeaders, this.socket)
        const res = new FastResponse(this.socket, head.method, close, this)
        this.#busy = res
        try {
          this.#host.serve(req, res)
        } catch {
          // The core never throws; if it did, drop this connection, not the process.
          this.socket.destroy()
          return
        }
      }
    } finally {
      this.#driving = false
    }
  }

  responseDone(res: FastResponse, close: boolean): void {
    if (this.#busy !== res) return
    this.#busy = undefined
    res.emitClose()
    if (this.#gone) return
    if (close) {
      this.#closing = true
      this.#end()
      return
    }
    if (this.socket.writableNeedDrain) {
      // The client reads slower than we answer: next request after the backlog drained.
      this.socket.once('drain', () => this.#drive())
      return
    }
    this.#drive()
  }

  /** Shutdown: idle connections end now, busy ones after their current answer. */
  closeIdle(): void {
    this.#closing = true
    if (this.#busy === undefined) this.#end()
  }

  /** Headers timeout: a head still incomplete after the limit gets 408 and the connection ends. */
  timeOut(): void {
    if (this.#gone) return
    if (this.socket.writable) this.socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    this.#detach()
    setImmediate(() => this.socket.destroy())
  }

  #end(): void {
    if (this.#gone) return
    // Requests read but not served (pipelined past the request limit or a shutdown), or reading
    // paused with more perhaps in the kernel: the client is still sending, so linger.
    const unread = !this.#ended && (this.#off < this.#buf.length || this.socket.isPaused())
    this.#detach()
    this.#buf = EMPTY
    if (unread) {
      lingeringClose(this.socket)
      return
    }
    // End our side, then destroy once written (like node:http after `connection: close`).
    ;(this.socket as Socket & { destroySoon(): void }).destroySoon()
  }

  #handOver(): void {
    if (this.#gone) return
    this.#detach()
    let rest = this.#buf.subarray(this.#off)
    this.#buf = EMPTY
    // Bytes the stream buffered while we were paused.
    for (let more = this.socket.read() as Buffer | null; more !== null; more = this.socket.read() as Buffer | null) rest = rest.length === 0 ? more : Buffer.concat([rest, more])
    this.#host.handOver(this.socket, rest)
  }

  #detach(): void {
    this.#gone = true
    if (this.#halfCloseTimer !== undefined) {
      clearTimeout(this.#halfCloseTimer)
      this.#halfCloseTimer = undefined
    }
    this.#registry.delete(this)
    this.socket.off('data', this.#onData)
    this.socket.off('end', this.#onEnd)
    this.socket.off('close', this.#onClose)
    this.socket.off('error', this.#onError)
    // node:http (after a hand-over) or destroy() owns errors from here; never leave the socket without a listener.
    if (this.socket.listenerCount('error') === 0) this.socket.on('error', () => {})
  }

  #closed(): void {
    const busy = this.#busy
    this.#detach()
    if (busy !== undefined) {
      this.#busy = undefined
      busy.destroyed = true
      busy.emitClose()
    }
  }
}
