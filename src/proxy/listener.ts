// Listening servers: plain HTTP/1.1 (strict parser), HTTPS with SNI certificates, and HTTP/2 via
// ALPN next to HTTP/1.1 (allowHTTP1) with a stream limit and a Rapid Reset bound per session.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { constants as h2c, createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../internal/logger.js'
import type { ListenerConfig } from './config.js'
import { ProxyError, ProxyErrorCodes } from './errors.js'
import type { ListenerInfo } from './request-handler.js'
import type { CertStore } from './tls-certs.js'
import { FastFront } from './fast/fast-front.js'
import { setHandshakeTimeout, watchSessionIdle } from './tls-timeouts.js'

export interface ListenerCallbacks {
  request(listener: ListenerInfo, req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void
  upgrade(listener: ListenerInfo, req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** False rejects the connection. */
  connection(listener: ListenerInfo, socket: Socket): boolean
  configure(server: HttpServer | HttpsServer | Http2SecureServer, config: ListenerConfig): void
  /** May the current config serve requests on the fast path (src/proxy/fast)? */
  fastEligible(): boolean
}

export class Listener implements ListenerInfo {
  readonly key: string
  readonly name: string
  readonly tls: boolean
  config: ListenerConfig
  port = 0
  certs: CertStore | undefined
  readonly server: HttpServer | HttpsServer | Http2SecureServer
  readonly sockets = new Set<Socket>()
  readonly sessions = new Set<ServerHttp2Session>()
  /** The fast-path front end (HTTP/1.1, plain or over TLS). */
  readonly fast: FastFront | undefined
  readonly #logger: Logger

  constructor(key: string, name: string, config: ListenerConfig, certs: CertStore | undefined, cb: ListenerCallbacks, logger: Logger) {
    this.key = key
    this.name = name
    this.config = config
    this.tls = config.protocol === 'https'
    this.certs = certs
    this.#logger = logger
    const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => cb.request(this, req, res)
    if (this.tls) {
      if (certs === undefined) throw new ProxyError(ProxyErrorCodes.TLS_CERT, `Cannot start https listener ${name}: no certificate`)
      const tlsOptions = {
        key: certs.defaultPair.key,
        cert: certs.defaultPair.cert,
        minVersion: config.tls.minVersion,
        // A TCP connection that never completes TLS gets the same deadline as a request head.
        handshakeTimeout: config.headersTimeoutMs > 0 ? config.headersTimeoutMs : 120_000,
        SNICallback: (servername: string, done: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => {
          done(null, (this.certs as CertStore).lookup(servername))
        },
      }
      if (config.tls.http2) {
        const server = createSecureServer({
          ...tlsOptions,
          allowHTTP1: true,
          settings: { maxConcurrentStreams: config.tls.h2MaxConcurrentStreams },
        })
        server.on('request', onRequest)
        server.on('session', (session: ServerHttp2Session) => this.#trackSession(session))
        this.server = server
      } else {
        this.server = createHttpsServer({ ...tlsOptions, insecureHTTPParser: false, noDelay: true }, onRequest)
      }
    } else {
      this.server = createHttpServer({ insecureHTTPParser: false, noDelay: true, keepAlive: true }, onRequest)
    }
    // HTTPS too: HTTP/1.1 over TLS takes the same fast path once the handshake is done.
    this.fast = FastFront.install(
      this.server as HttpServer,
      (req, res) => cb.request(this, req as unknown as IncomingMessage, res as unknown as ServerResponse),
      () => cb.fastEligible(),
      this.tls,
    )
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => cb.upgrade(this, req, socket, head))
    // node:http hands CONNECT to 'connect' and drops the socket silently when nobody listens; a
    // reverse proxy tunnels nothing, so it answers 400 like nginx.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy())
      const body = `400 CONNECT is not supported by a reverse proxy (${ProxyErrorCodes.BAD_REQUEST})\n`
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-switchyard-error: ${ProxyErrorCodes.BAD_REQUEST}\r\nconnection: close\r\n\r\n${body}`)
    })
    this.server.on('connection', (socket: Socket) => {
      if (!cb.connection(this, socket)) {
        socket.destroy()
        return
      }
      // TLS servers do not set TCP_NODELAY themselves; without it small TLS records wait for
      // delayed ACKs (~40 ms per response).
      socket.setNoDelay(true)
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
      // A TLS socket reaches the fast path after its handshake (FastFront.install).
      if (!this.tls) this.fast?.accept(socket)
    })
    // A failed or timed-out TLS handshake: node reports it but leaves the TCP socket to us.
    this.server.on('tlsClientError', (_err: Error, tlsSocket: Duplex & { _parent?: Socket | null }) => {
      tlsSocket.destroy()
      tlsSocket._parent?.destroy()
    })
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      else socket.destroy()
    })
    this.applyTimeouts(config)
    cb.configure(this.server, config)
  }

  applyTimeouts(config: ListenerConfig): void {
    this.config = config
    const s = this.server as HttpServer
    // The h2 server has these too: its HTTP/1.1 fallback connections (allowHTTP1) use them.
    s.headersTimeout = config.headersTimeoutMs
    s.requestTimeout = config.requestTimeoutMs
    s.keepAliveTimeout = config.keepAliveTimeoutMs
    if (this.tls && config.headersTimeoutMs > 0) setHandshakeTimeout(this.server as unknown as import('node:tls').Server, config.headersTimeoutMs)
  }

  /**
   * Bounds the HTTP/2 Rapid Reset pattern (CVE-2023-44487). Two rules, either closes the session
   * with GOAWAY(ENHANCE_YOUR_CALM): more than h2MaxResetsPerSec client resets in one second, or
   * (Envoy's premature-reset rule) once 100 streams were opened, more than half of them reset by
   * the client within a second of opening. The second rule holds however slowly a loaded server
   * gets to the streams, so an attacker cannot stay under the rate by pacing.
   */
  #trackSession(session: ServerHttp2Session): void {
    this.sessions.add(session)
    session.once('close', () => this.sessions.delete(session))
    // keepAliveTimeout as set last (by the config or the protection layer's limits).
    watchSessionIdle(session, () => (this.server as HttpServer).keepAliveTimeout || this.config.keepAliveTimeoutMs)
    let windowStart = Date.now()
    let resets = 0
    let opened = 0
    let premature = 0
    let calmed = false
    const limit = this.config.tls.h2MaxResetsPerSec
    const calm = (why: string): void => {
      if (calmed || session.destroyed) return
      calmed = true
      this.#logger.warn({ listener: this.name, resets, opened, premature, why }, 'http2: stream reset abuse, closing session')
      session.goaway(h2c.NGHTTP2_ENHANCE_YOUR_CALM)
      // No new streams from here on; the ones open end with the session. destroy() on the next turn
      // could drop the GOAWAY frame unsent on a busy loop (the client then saw a bare close), so
      // the session closes gracefully and is destroyed after a bounded grace.
      session.close()
      setTimeout(() => session.destroy(), 1000).unref()
    }
    session.on('stream', (stream) => {
      opened++
      const openedAt = Date.now()
      // A stream the client reset (RST_STREAM, any code) counts; our own resets are rare.
      stream.once('close', () => {
        if (stream.rstCode === h2c.NGHTTP2_NO_ERROR || session.destroyed) return
        const now = Date.now()
        if (now - openedAt < 1000) premature++
        if (now - windowStart >= 1000) {
          windowStart = now
          resets = 0
        }
        if (++resets > limit) calm('rate')
        else if (opened >= 100 && premature * 2 > opened) calm('premature resets')
      })
    })
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new ProxyError(ProxyErrorCodes.LISTEN, `Cannot listen on ${this.config.address}:${this.config.port}: ${err.message}`, { cause: err }))
      this.server.once('error', onError)
      this.server.listen(this.config.port, this.config.address, () => {
        this.server.off('error', onError)
        const addr = this.server.address()
        this.port = typeof addr === 'object' && addr !== null ? addr.port : this.config.port
        resolve()
      })
    })
  }

  /** Stops accepting; closes idle keep-alive connections now and the rest after graceMs. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sockets) s.destroy()
        for (const s of this.sessions) s.destroy()
      }, graceMs)
      timer.unref()
      this.server.close(() => {
        clearTimeout(timer)
        this.fast?.stop()
        resolve()
      })
      this.fast?.closeIdle()
      const s = this.server as HttpServer
      if (typeof s.closeIdleConnections === 'function') s.closeIdleConnections()
      for (const session of this.sessions) session.close()
    })
  }
}
