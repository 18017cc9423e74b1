// The fast-path front end of one listener. It takes node's own connection listener off the server
// ('connection' for plain HTTP; 'secureConnection' for HTTPS, after the TLS handshake) and calls it
// only for sockets it hands over, so node keeps every protection (parser limits, timeouts,
// smuggling checks, upgrades, HTTP/2) for whatever the fast path declines; the server object still
// listens, tracks and closes connections as before. A TLS connection that negotiated h2 (ALPN) goes
// straight to node's listener.
import type { Server as HttpServer } from 'node:http'
import { maxHeaderSize as defaultMaxHeaderSize } from 'node:http'
import type { Socket } from 'node:net'
import { FastConnection, type FastHost } from './fast-connection.js'
import type { FastRequest, FastResponse } from './fast-message.js'
import type { HeadLimits } from './request-head.js'
import { sweepEvery } from '../../internal/timers.js'

/** How often incomplete heads and idle keep-alive connections are checked (one shared sweep, see internal/timers.ts). */
const SWEEP_MS = 100

type ConnectionListener = (this: HttpServer, socket: Socket) => void

export class FastFront {
  readonly #server: HttpServer
  readonly #nodeListener: ConnectionListener
  readonly #eligible: () => boolean
  readonly #conns = new Set<FastConnection>()
  readonly #host: FastHost
  /** Stops this front's check; undefined while it has no connection. */
  #stopSweep: (() => void) | undefined
  /** Requests served on the fast path so far (a diagnostic for tests and the admin status). */
  served = 0
  #limits: HeadLimits = { maxHeaderBytes: -1, maxHeaders: -1 }
  #keepAliveMs = -1
  #keepAliveHeader = ''

  /**
   * Undefined when the server's connection listener is not the one node installs. `tls`: an https
   * or http2 secure server; the front then accepts its TLS sockets itself ('secureConnection'),
   * while plain HTTP sockets are passed to accept() by the listener after its own checks.
   */
  static install(server: HttpServer, serve: (req: FastRequest, res: FastResponse) => void, eligible: () => boolean, tls = false): FastFront | undefined {
    const event = tls ? 'secureConnection' : 'connection'
    const listeners = server.listeners(event)
    const node = listeners[0] as ConnectionListener | undefined
    if (listeners.length !== 1 || node === undefined || node.name !== 'connectionListener') return undefined
    server.removeListener(event, node)
    const front = new FastFront(server, node, serve, eligible)
    if (tls) server.on(event, (socket: Socket & { alpnProtocol?: string | false | null }) => {
      // HTTP/2 (and anything but HTTP/1.x) is node's; an h2 server's listener also answers the
      // HTTP/1.1 fallback when the fast path hands a connection over.
      if (socket.alpnProtocol === 'h2') node.call(server, socket)
      else front.accept(socket)
    })
    return front
  }

  private constructor(server: HttpServer, nodeListener: ConnectionListener, serve: (req: FastRequest, res: FastResponse) => void, eligible: () => boolean) {
    this.#server = server
    this.#nodeListener = nodeListener
    this.#eligible = eligible
    const self = this
    this.#host = {
      limits: (): HeadLimits => {
        // Read per request (a reload may change them), allocated only when they do change.
        const bytes = (server as HttpServer & { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize
        const count = typeof server.maxHeadersCount === 'number' && server.maxHeadersCount > 0 ? server.maxHeadersCount : 2000
        if (bytes !== this.#limits.maxHeaderBytes || count !== this.#limits.maxHeaders) this.#limits = { maxHeaderBytes: bytes, maxHeaders: count }
        return this.#limits
      },
      eligible,
      serve: (req, res) => {
        this.served++
        serve(req, res)
      },
      handOver: (socket, rest) => this.#handOver(socket, rest),
      maxRequestsPerSocket: () => server.maxRequestsPerSocket ?? 0,
      get keepAliveHeader() {
        return self.#keepAliveLine()
      },
    }
  }

  /** Open fast-path connections (not yet handed over). */
  get size(): number {
    return this.#conns.size
  }

  /** A new accepted connection (already counted and allowed by the listener). */
  accept(socket: Socket): void {
    if (!this.#eligible()) {
      this.#nodeListener.call(this.#server, socket)
      return
    }
    new FastConnection(socket, this.#host, this.#conns)
    this.#stopSweep ??= sweepEvery(SWEEP_MS, () => this.#check())
  }

  #handOver(socket: Socket, rest: Buffer): void {
    if (socket.destroyed) return
    this.#nodeListener.call(this.#server, socket)
    // node's parser now reads the socket; give it the bytes we had read but not parsed first.
    if (rest.length > 0) socket.emit('data', rest)
    socket.resume()
  }

  #keepAliveLine(): string {
    const ms = this.#server.keepAliveTimeout
    if (ms !== this.#keepAliveMs) {
      this.#keepAliveMs = ms
      this.#keepAliveHeader = ms > 0 ? `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(ms / 1000)}\r\n\r\n` : 'connection: keep-alive\r\n\r\n'
    }
    return this.#keepAliveHeader
  }

  #check(): void {
    if (this.#conns.size === 0) {
      this.stop()
      return
    }
    const now = Date.now()
    const s = this.#server
    const rt = s.requestTimeout
    const headersMs = s.headersTimeout > 0 && rt > 0 ? Math.min(s.headersTimeout, rt) : s.headersTimeout > 0 ? s.headersTimeout : rt
    const keepAliveMs = s.keepAliveTimeout
    for (const c of this.#conns) {
      if (c.headSince > 0 && headersMs > 0 && now - c.headSince > headersMs) c.timeOut()
      else if (c.idleSince > 0 && keepAliveMs > 0 && now - c.idleSince > keepAliveMs) c.closeIdle()
    }
  }

  /** Shutdown: idle connections end now, busy ones after their answer. */
  closeIdle(): void {
    for (const c of [...this.#conns]) c.closeIdle()
  }

  stop(): void {
    this.#stopSweep?.()
    this.#stopSweep = undefined
  }
}
