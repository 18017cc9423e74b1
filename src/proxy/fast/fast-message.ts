// The request/response objects of the fast path: just the part of IncomingMessage and
// ServerResponse that the proxy core and the built-in plugins use (headers, writeHead/write/end,
// setHeader, headersSent, writableEnded/Finished, destroy, 'close'/'drain'/'finish'), written
// straight to the client socket: one head string per response, chunked framing when no length.
import { EventEmitter } from 'node:events'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { isFieldValue, isToken } from './field-chars.js'
import { holdForWrite, holdWrites } from './held-writes.js'

export class FastRequest extends EventEmitter {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly rawHeaders: string[]
  readonly socket: Socket
  readonly httpVersion = '1.1'
  readonly httpVersionMajor = 1
  readonly httpVersionMinor = 1
  readonly complete = true
  destroyed = false
  aborted = false

  constructor(method: string, url: string, headers: Record<string, string>, rawHeaders: string[], socket: Socket) {
    super()
    this.method = method
    this.url = url
    this.headers = headers
    this.rawHeaders = rawHeaders
    this.socket = socket
  }

  get connection(): Socket {
    return this.socket
  }
}

/** What a response tells its connection. */
export interface ResponseOwner {
  /** The response ended (all bytes handed to the socket); `close` asks to end the connection. */
  responseDone(res: FastResponse, close: boolean): void
  keepAliveHeader: string
}


/** Whether writeHead would take this field as is (a head prepared ahead of time checks with this). */
export function isValidField(name: string, value: string): boolean {
  return isToken(name) && isFieldValue(value)
}

/** Largest body piece copied into one buffer with its head and framing (one write per piece). */
const COALESCE_BYTES = 16 * 1024
/** sendPrepared's shared write buffer (see there); a head with a coalesced body fits. */
const SCRATCH_BYTES = 64 * 1024
let scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES)

let dateCache = ''
let dateSecond = 0
function httpDate(): string {
  const now = Date.now()
  const s = Math.floor(now / 1000)
  if (s !== dateSecond) {
    dateSecond = s
    dateCache = new Date(now).toUTCString()
  }
  return dateCache
}

function invalid(what: string, name: string): TypeError {
  return Object.assign(new TypeError(`Invalid character in ${what} ["${name}"]`), { code: 'ERR_INVALID_CHAR' })
}

type HeaderValue = string | number | readonly string[] | undefined

/**
 * Collects one response head: the framing fields (Content-Length, Connection, Transfer-Encoding,
 * Date) are noted, the rest appended. One module-level instance, so writeHead allocates no closure
 * (writeHead never runs inside another writeHead).
 */
class HeadBuilder {
  out = ''
  length: string | undefined = undefined
  hasDate = false
  close = false

  start(statusLine: string, close: boolean): void {
    this.out = statusLine
    this.length = undefined
    this.hasDate = false
    this.close = close
  }

  add(name: string, value: HeaderValue): void {
    if (value === undefined) return
    if (!isToken(name)) throw invalid('header name', name)
    const lower = name.length === 14 || name.length === 10 || name.length === 4 || name.length === 17 ? name.toLowerCase() : ''
    if (typeof value === 'object') {
      for (const v of value) {
        if (!isFieldValue(v)) throw invalid('header content', name)
        this.out += `${name}: ${v}\r\n`
      }
      return
    }
    const v = typeof value === 'number' ? String(value) : value
    if (!isFieldValue(v)) throw invalid('header content', name)
    if (lower === 'content-length') {
      this.length = v
      return
    } else if (lower === 'date') this.hasDate = true
    else if (lower === 'connection') {
      if (v.toLowerCase().includes('close')) this.close = true
      return
    } else if (lower === 'transfer-encoding') return // framing is ours to decide
    this.out += `${name}: ${v}\r\n`
  }
}

const builder = new HeadBuilder()

/** Whether writeHead's `headers` name the field `lower` (lower case), in any case: no Set per head. */
function namesField(headers: Record<string, HeaderValue> | readonly HeaderValue[], lower: string): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (sameName(String(headers[i]), lower)) return true
    return false
  }
  for (const name in headers as Record<string, HeaderValue>) if (sameName(name, lower)) return true
  return false
}

function sameName(name: string, lower: string): boolean {
  return name === lower || (name.length === lower.length && name.toLowerCase() === lower)
}

export class FastResponse extends EventEmitter {
  statusCode = 200
  statusMessage = ''
  headersSent = false
  writableEnded = false
  writableFinished = false
  destroyed = false
  socket: Socket | null
  sendDate = true
  readonly #owner: ResponseOwner
  readonly #head: boolean
  #closeAfter: boolean
  #set: Map<string, [string, HeaderValue]> | undefined
  #pending: string | undefined
  #chunked = false
  #noBody = false
  #trailers = ''
  #closed = false
  #needDrain = false

  constructor(socket: Socket, method: string, closeAfter: boolean, owner: ResponseOwner) {
    super()
    this.socket = socket
    this.#head = method === 'HEAD'
    this.#closeAfter = closeAfter
    this.#owner = owner
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' })
    this.#set ??= new Map()
    this.#set.set(name.toLowerCase(), [name, value])
    return this
  }

  getHeader(name: string): HeaderValue {
    return this.#set?.get(name.toLowerCase())?.[1]
  }

  hasHeader(name: string): boolean {
    return this.#set?.has(name.toLowerCase()) ?? false
  }

  removeHeader(name: string): void {
    this.#set?.delete(name.toLowerCase())
  }

  writeHead(status: number, reasonOrHeaders?: string | Record<string, HeaderValue> | readonly HeaderValue[], maybeHeaders?: Record<string, HeaderValue> | readonly HeaderValue[]): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' })
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined
    const headers = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders
    if (!Number.isInteger(status) || status < 100 || status > 999) throw Object.assign(new RangeError(`Invalid status code: ${status}`), { code: 'ERR_HTTP_INVALID_STATUS_CODE' })
    if (reason !== undefined && !isFieldValue(reason)) throw invalid('statusMessage', reason)
    this.statusCode = status
    this.statusMessage = reason ?? STATUS_CODES[status] ?? 'unknown'
    const b = builder
    b.start(`HTTP/1.1 ${status} ${this.statusMessage}\r\n`, this.#closeAfter)
    if (headers !== undefined) {
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) b.add(String(headers[i]), headers[i + 1] as HeaderValue)
      } else {
        const obj = headers as Record<string, HeaderValue>
        for (const name in obj) b.add(name, obj[name])
      }
    }
    // Fields set with setHeader follow, unless writeHead's own headers named them (any case).
    if (this.#set !== undefined) for (const [lower, [name, value]] of this.#set) if (headers === undefined || !namesField(headers, lower)) b.add(name, value)
    let out = b.out
    const length = b.length
    const close = b.close
    this.#noBody = this.#head || status === 204 || status === 304 || status < 200
    if (length !== undefined) out += `content-length: ${length}\r\n`
    else if (!this.#noBody) {
      this.#chunked = true
      out += 'transfer-encoding: chunked\r\n'
    }
    if (!b.hasDate && this.sendDate) out += `date: ${httpDate()}\r\n`
    this.#closeAfter = close
    out += close ? 'connection: close\r\n\r\n' : this.#owner.keepAliveHeader
    this.#pending = out
    this.headersSent = true
    return this
  }

  /** True when the socket accepted everything (like Writable.write). */
  write(chunk: Buffer | string, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.writableEnded) return false
    if (!this.headersSent) this.writeHead(this.statusCode)
    const socket = this.socket
    if (socket === null || this.destroyed) return false
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk
    if (this.#noBody || data.length === 0) {
      this.#flushHead()
      cb?.()
      return !socket.writableNeedDrain
    }
    const ok = this.#out(socket, data, false, cb)
    if (!ok && !this.#needDrain) {
      this.#needDrain = true
      socket.once('drain', () => {
        this.#needDrain = false
        this.emit('drain')
      })
    }
    return ok
  }

  /**
   * Writes the pending head, `data` in this response's framing and, when `last`, the final chunk.
   * A small answer goes out as one buffer in one write: no cork/writev, no string copies in C++.
   */
  #out(socket: Socket, data: Buffer | undefined, last: boolean, cb?: () => void): boolean {
    const body = data !== undefined && data.length > 0 && !this.#noBody ? data : undefined
    holdForWrite(socket, body === undefined ? 0 : body.length)
    const chunked = this.#chunked
    const pre = (this.#pending ?? '') + (body !== undefined && chunked ? `${body.length.toString(16)}\r\n` : '')
    this.#pending = undefined
    const tail = (body !== undefined && chunked ? '\r\n' : '') + (last && chunked ? `0\r\n${this.#trailers}\r\n` : '')
    if (body === undefined) {
      const text = pre + tail
      if (text.length > 0) return socket.write(text, 'latin1', cb)
      cb?.()
      return !socket.writableNeedDrain
    }
    if (body.length <= COALESCE_BYTES) {
      const buf = Buffer.allocUnsafe(pre.length + body.length + tail.length)
      buf.write(pre, 0, 'latin1')
      body.copy(buf, pre.length)
      if (tail.length > 0) buf.write(tail, pre.length + body.length, 'latin1')
      return socket.write(buf, cb)
    }
    socket.cork()
    if (pre.length > 0) socket.write(pre, 'latin1')
    let ok = socket.write(body, tail.length === 0 ? cb : undefined)
    if (tail.length > 0) ok = socket.write(tail, 'latin1', cb)
    socket.uncork()
    return ok
  }

  #flushHead(): void {
    if (this.#pending !== undefined && this.socket !== null) {
      holdWrites(this.socket)
      this.socket.write(this.#pending, 'latin1')
      this.#pending = undefined
    }
  }

  addTrailers(trailers: Record<string, HeaderValue>): void {
    for (const name in trailers) {
      const v = trailers[name]
      if (v === undefined) continue
      for (const x of typeof v === 'object' ? v : [String(v)]) {
        if (!isToken(name) || !isFieldValue(x)) throw invalid('trailer', name)
        this.#trailers += `${name}: ${x}\r\n`
      }
    }
  }

  end(chunk?: Buffer | string | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    }
    if (typeof encoding === 'function') {
      cb = encoding
      encoding = undefined
    }
    if (this.writableEnded) return this
    const data = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk
    if (!this.headersSent) {
      // Implicit head (no writeHead): the whole body is known, so send its length.
      if (!this.hasHeader('content-length') && !this.hasHeader('transfer-encoding')) this.setHeader('content-length', data?.length ?? 0)
      this.writeHead(this.statusCode)
    }
    const socket = this.socket
    if (socket !== null && !this.destroyed) {
      this.#out(socket, data, true)
    }
    this.writableEnded = true
    this.writableFinished = !this.destroyed
    this.emit('finish')
    cb?.()
    this.#owner.responseDone(this, this.#closeAfter)
    return this
  }

  /** Whether setHeader left fields that a prepared head (sendPrepared) would not carry. */
  get hasSetHeaders(): boolean {
    return this.#set !== undefined && this.#set.size > 0
  }

  /**
   * A complete answer whose head was built and checked once (a cache entry's, see
   * cache/prepared-hit.ts): `head` holds the status line and every fixed field, `fields` the
   * per-answer lines (Age, request id), each ending in CRLF. Adds Date (unless `hasDate`) and the
   * connection line, then writes head and body as one buffer; the same bytes, events and
   * owner callback as writeHead + end. The caller checked that nothing was sent or set yet.
   */
  sendPrepared(status: number, statusMessage: string, head: Buffer, fields: string, hasDate: boolean, body: Buffer | undefined): void {
    this.statusCode = status
    this.statusMessage = statusMessage
    this.headersSent = true
    this.#noBody = this.#head || status === 204 || status === 304 || status < 200
    if (!hasDate && this.sendDate) fields += `date: ${httpDate()}\r\n`
    fields += this.#closeAfter ? 'connection: close\r\n\r\n' : this.#owner.keepAliveHeader
    const socket = this.socket
    if (socket !== null && !this.destroyed) {
      const data = body !== undefined && !this.#noBody && body.length > 0 ? body : undefined
      holdForWrite(socket, data === undefined ? 0 : data.length)
      // Like #out: a small body shares the head's buffer, a large one follows it in one writev.
      const joined = data !== undefined && data.length <= COALESCE_BYTES
      const size = head.length + fields.length + (joined ? data.length : 0)
      // A plain TCP socket that is not held (held-writes.ts) and has nothing queued takes a small
      // write in full at once, and then nothing holds the buffer: the shared scratch is used,
      // replaced only if a write stayed queued.
      const reuse = data !== undefined && joined && size <= SCRATCH_BYTES && socket.writableCorked === 0 && socket.writableLength === 0 && (socket as Socket & { encrypted?: boolean }).encrypted !== true
      const buf = reuse ? scratch.subarray(0, size) : Buffer.allocUnsafe(size)
      head.copy(buf, 0)
      buf.write(fields, head.length, 'latin1')
      if (joined) {
        data.copy(buf, head.length + fields.length)
        socket.write(buf)
        if (reuse && socket.writableLength !== 0) scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES)
      } else if (data === undefined) socket.write(buf)
      else {
        socket.cork()
        socket.write(buf)
        socket.write(data)
        socket.uncork()
      }
    }
    this.writableEnded = true
    this.writableFinished = !this.destroyed
    this.emit('finish')
    this.#owner.responseDone(this, this.#closeAfter)
  }

  /** The connection asks this response to end it after the answer (shutdown, request limit). */
  closeAfter(): void {
    this.#closeAfter = true
  }

  destroy(): this {
    if (this.destroyed) return this
    this.destroyed = true
    this.socket?.destroy()
    this.emitClose()
    return this
  }

  /** Emits 'close' once (after the answer, or when the client went away first). */
  emitClose(): void {
    if (this.#closed) return
    this.#closed = true
    this.socket = null
    this.emit('close')
  }
}
