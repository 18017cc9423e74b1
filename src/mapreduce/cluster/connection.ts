// A framed, checksummed, authenticated message connection over TCP. Messages are msgpackr objects
// `{ t: type, ... }`; requests carry `rid`, replies `re`. No message is dispatched before both
// sides proved knowledge of the shared secret (see handshake.ts), and every frame after that
// carries a MAC under the session's keys (frame-auth.ts).
import type { Socket } from 'node:net'
import { Packr } from 'msgpackr'
import { ClusterError, ClusterErrorCodes } from './errors.js'
import { FrameOpener, FrameSealer, MAC_BYTES, type SessionKeys } from './frame-auth.js'
import { FrameDecoder, encodeFrame, encodeSealedFrame } from './wire-frame.js'
import { protectLoneSurrogates } from '../utf16-strings.js'

export const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' })

export interface Message {
  t: string
  rid?: number
  re?: number
  err?: { code: string; message: string }
  [key: string]: unknown
}

export type Handler = (msg: Message, conn: Connection) => unknown

export interface ConnectionOptions {
  maxFrameBytes: number
  /** Largest frame accepted before authentication finished. */
  preAuthMaxFrameBytes?: number
}

interface Pending {
  resolve: (m: Message) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout | undefined
}

export class Connection {
  readonly socket: Socket
  /** The peer's role once authenticated (`worker`, `driver`, `fetcher`, ...). */
  peerRole = ''
  readonly #decoder: FrameDecoder
  readonly #handlers = new Map<string, Handler>()
  readonly #pending = new Map<number, Pending>()
  readonly #closeListeners: ((err: Error | undefined) => void)[] = []
  #raw: ((msg: Message) => void) | undefined
  /** Messages that arrived after the handshake but before start(). */
  #held: Message[] | undefined = []
  #fallback: Handler | undefined
  #nextRid = 1
  #corked = false
  #closed = false
  #closeError: Error | undefined
  readonly #maxFrameBytes: number
  readonly #remoteAddress: string
  #sealer: FrameSealer | undefined
  #opener: FrameOpener | undefined

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket
    this.#remoteAddress = peerAddress(socket)
    this.#maxFrameBytes = options.maxFrameBytes
    this.#decoder = new FrameDecoder(options.preAuthMaxFrameBytes ?? 4096, (payload) => this.#onFrame(payload))
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk)
      } catch (err) {
        // Never throw from a socket handler: end this connection, keep serving the others.
        this.close(err instanceof Error ? err : new Error(String(err)))
      }
    })
    socket.on('error', (err) => this.close(err))
    socket.on('close', () => this.close())
  }

  /**
   * Called by the handshake, synchronously with the frame that completed it, once the peer is
   * authenticated: from the next frame on, both directions are sealed with the session's keys.
   */
  authenticated(peerRole: string, keys: SessionKeys): void {
    this.peerRole = peerRole
    this.#sealer = new FrameSealer(keys.send)
    this.#opener = new FrameOpener(keys.receive)
    this.#decoder.maxPayloadBytes = this.#maxFrameBytes + MAC_BYTES
    this.#raw = undefined
  }

  /** Begins dispatching to handlers (register them first); replays what arrived meanwhile. */
  start(): void {
    const held = this.#held
    if (held === undefined) return
    this.#held = undefined
    for (const msg of held) {
      if (this.#closed) return
      this.#dispatch(msg)
    }
  }

  /** During the handshake every frame goes to this one listener, bypassing handlers. */
  onRaw(listener: ((msg: Message) => void) | undefined): void {
    this.#raw = listener
  }

  handle(type: string, handler: Handler): void {
    this.#handlers.set(type, handler)
  }

  /** For messages no handler claims. */
  handleOther(handler: Handler): void {
    this.#fallback = handler
  }

  onClose(listener: (err: Error | undefined) => void): void {
    if (this.#closed) queueMicrotask(() => listener(this.#closeError))
    else this.#closeListeners.push(listener)
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The peer's `host:port`, kept from the start: a destroyed socket no longer knows it. */
  get remoteAddress(): string {
    return this.#remoteAddress
  }

  /** Sends one message; false means the socket buffer is full (await drained() before more). */
  send(msg: Message): boolean {
    if (this.#closed) return false
    // Results and broadcast values are user data: keep lone surrogates (see utf16-strings.ts).
    const packed = packr.pack(protectLoneSurrogates(msg))
    // Batch writes: one cork per event-loop turn, uncorked on the next tick.
    if (!this.#corked) {
      this.#corked = true
      this.socket.cork()
      process.nextTick(() => {
        this.#corked = false
        this.socket.uncork()
      })
    }
    if (this.#sealer === undefined) {
      const [header, payload] = encodeFrame(packed)
      this.socket.write(header)
      return this.socket.write(payload)
    }
    const [header, payload, mac] = encodeSealedFrame(packed, this.#sealer.seal(packed))
    this.socket.write(header)
    this.socket.write(payload)
    return this.socket.write(mac)
  }

  /** Resolves when the socket's write buffer has drained (or at once if it is not full). */
  drained(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closeError ?? closedError())
    if (!this.socket.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        if (this.#closed) reject(this.#closeError ?? closedError())
        else resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }

  request(msg: Message, timeoutMs = 0): Promise<Message> {
    if (this.#closed) return Promise.reject(this.#closeError ?? closedError())
    const rid = this.#nextRid++
    return new Promise<Message>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.#pending.delete(rid)
              reject(new ClusterError(ClusterErrorCodes.REQUEST_TIMEOUT, `Request "${msg.t}" to ${this.remoteAddress} got no reply within ${timeoutMs} ms`))
            }, timeoutMs)
          : undefined
      this.#pending.set(rid, { resolve, reject, timer })
      this.send({ ...msg, rid })
    })
  }

  reply(to: Message, body: Omit<Message, 't'> & { t?: string }): void {
    if (to.rid === undefined) return
    this.send({ t: 'reply', ...body, re: to.rid })
  }

  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }

  close(err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.#closeError = err
    this.socket.destroy()
    const e = err ?? closedError()
    for (const p of this.#pending.values()) {
      if (p.timer !== undefined) clearTimeout(p.timer)
      p.reject(new ClusterError(ClusterErrorCodes.CONNECTION_CLOSED, `Connection to ${this.remoteAddress} closed: ${e.message}`, { cause: e }))
    }
    this.#pending.clear()
    for (const l of this.#closeListeners.splice(0)) l(err)
  }

  #onFrame(frame: Buffer): void {
    let payload = frame
    // Before the handshake completes only its own messages (to the raw listener) are read; after
    // it, a frame is read only if its MAC holds at this position in the stream.
    if (this.#opener !== undefined) payload = this.#opener.open(frame)
    else if (this.#raw === undefined) throw new ClusterError(ClusterErrorCodes.PROTOCOL, 'Cannot accept message before authentication')
    let msg: Message
    try {
      msg = packr.unpack(payload) as Message
    } catch (err) {
      throw new ClusterError(ClusterErrorCodes.PROTOCOL, 'Cannot decode frame: not a msgpack message', { cause: err })
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.t !== 'string') {
      throw new ClusterError(ClusterErrorCodes.PROTOCOL, 'Cannot accept message: it has no type field "t"')
    }
    if (this.#opener === undefined) {
      ;(this.#raw as (msg: Message) => void)(msg)
      return
    }
    if (this.#held !== undefined) {
      if (this.#held.length >= 1024) throw new ClusterError(ClusterErrorCodes.PROTOCOL, 'Cannot accept message: too many before the connection started')
      this.#held.push(msg)
      return
    }
    if (this.peerRole === '') throw new ClusterError(ClusterErrorCodes.PROTOCOL, 'Cannot accept message before authentication')
    this.#dispatch(msg)
  }

  #dispatch(msg: Message): void {
    if (msg.re !== undefined) {
      const p = this.#pending.get(msg.re)
      if (p === undefined) return
      this.#pending.delete(msg.re)
      if (p.timer !== undefined) clearTimeout(p.timer)
      if (msg.err !== undefined) p.reject(new ClusterError(ClusterErrorCodes.REMOTE, `${msg.err.message} [${msg.err.code}]`))
      else p.resolve(msg)
      return
    }
    const handler = this.#handlers.get(msg.t) ?? this.#fallback
    if (handler === undefined) {
      if (msg.rid !== undefined) this.reply(msg, { err: { code: ClusterErrorCodes.PROTOCOL, message: `Unknown request "${msg.t}"` } })
      return
    }
    let out: unknown
    try {
      out = handler(msg, this)
    } catch (err) {
      this.#replyError(msg, err)
      return
    }
    if (msg.rid === undefined) {
      if (out instanceof Promise) out.catch(() => {})
      return
    }
    Promise.resolve(out).then(
      (body) => {
        if (body !== undefined && body !== null) this.reply(msg, body as Message)
      },
      (err: unknown) => this.#replyError(msg, err),
    )
  }

  #replyError(msg: Message, err: unknown): void {
    const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ERR_CLUSTER_REMOTE'
    const message = err instanceof Error ? err.message : String(err)
    this.reply(msg, { err: { code, message } })
  }
}

/** `host:port` of a socket's peer (`[v6]:port` for IPv6), or `unknown` once it is gone. */
export function peerAddress(socket: Socket): string {
  const host = socket.remoteAddress
  if (host === undefined) return 'unknown'
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`
}

function closedError(): ClusterError {
  return new ClusterError(ClusterErrorCodes.CONNECTION_CLOSED, 'Connection closed')
}
