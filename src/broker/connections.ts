// The broker's side of a connection's life outside message routing: accepting TCP, TLS and
// WebSocket sockets as Clients, admitting them (max_connections, INFO, auth deadline), keeping
// them alive (PINGs, write deadlines) and logging the closed ones for /connz.
import type { Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls'
import type { WebSocket } from 'ws'
import { sharedTimers } from '../internal/timers.js'
import { Client } from './client.js'
import { BrokerError, BrokerErrorCodes, PROTO_ERR } from './errors.js'
import type { Broker } from './server.js'
import { SocketTransport, WsTransport } from './transport.js'

export interface ClosedConnection {
  cid: number
  ip: string
  port: number
  start: Date
  stop: Date
  reason: string
  name: string
  user: string
  inMsgs: number
  outMsgs: number
  inBytes: number
  outBytes: number
}

/** Owned by one Broker; works on its `clients`, `closedConnections` and `stats`. */
export class Connections {
  readonly #broker: Broker
  readonly #secure: SecureContext | undefined
  #nextCid = 1

  constructor(broker: Broker) {
    this.#broker = broker
    const tls = broker.options.tls
    if (tls !== undefined) {
      try {
        this.#secure = createSecureContext({ cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) })
      } catch (err) {
        throw new BrokerError(BrokerErrorCodes.TLS, `Cannot load TLS certificate or key: ${(err as Error).message}`, { cause: err })
      }
    }
  }

  #tooMany(): boolean {
    return this.#broker.clients.size >= this.#broker.options.maxConnections
  }

  accept(socket: Socket): void {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    if (this.#broker.closed) {
      socket.destroy()
      return
    }
    const cid = this.#nextCid++
    const ip = socket.remoteAddress ?? ''
    const port = socket.remotePort ?? 0
    if (this.#secure === undefined) {
      const client = new Client(this.#broker, cid, new SocketTransport(socket, 'tcp'), ip, port)
      this.#register(client)
      socket.on('data', (chunk: Buffer) => client.feed(chunk))
      socket.on('drain', () => client.onDrain())
      socket.on('close', () => this.#onTransportClose(client))
      return
    }
    // TLS: INFO goes out in plain text, then the client starts the handshake (nats-server 2.9 style).
    const tlsOpts = this.#broker.options.tls
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: this.#secure,
      requestCert: tlsOpts?.verify === true,
      rejectUnauthorized: tlsOpts?.verify === true,
    })
    tlsSocket.on('error', () => socket.destroy())
    const client = new Client(this.#broker, cid, new SocketTransport(tlsSocket, 'tls'), ip, port)
    socket.write(this.#broker.info(client))
    this.#register(client, false)
    tlsSocket.on('data', (chunk: Buffer) => client.feed(chunk))
    tlsSocket.on('drain', () => client.onDrain())
    tlsSocket.on('close', () => this.#onTransportClose(client))
    socket.on('close', () => this.#onTransportClose(client))
  }

  acceptWs(ws: WebSocket, ip: string, port: number): void {
    if (this.#broker.closed) {
      ws.terminate()
      return
    }
    ws.binaryType = 'nodebuffer'
    const client = new Client(this.#broker, this.#nextCid++, new WsTransport(ws), ip, port)
    this.#register(client)
    ws.on('message', (data: Buffer) => client.feed(data))
    ws.on('close', () => this.#onTransportClose(client))
    ws.on('error', () => ws.terminate())
  }

  /** A connection id for a client accepted by another front-end (src/broker/mqtt). */
  nextCid(): number {
    return this.#nextCid++
  }

  /** Registers a client accepted elsewhere (no INFO); false when max_connections is reached. */
  adopt(client: Client): boolean {
    this.#broker.stats.totalConnections++
    if (this.#tooMany()) return false
    this.#broker.clients.set(client.cid, client)
    return true
  }

  #register(client: Client, sendInfo = true): void {
    this.#broker.stats.totalConnections++
    if (this.#tooMany()) {
      if (sendInfo) client.sendText(this.#broker.info(client))
      client.closeWithError(PROTO_ERR.MAX_CONNECTIONS, 'max connections')
      return
    }
    this.#broker.clients.set(client.cid, client)
    if (sendInfo) client.sendText(this.#broker.info(client))
    if (this.#broker.authRequired || this.#secure !== undefined) {
      sharedTimers.setTimeout(() => {
        if (!client.connected && !client.closed) client.closeWithError(PROTO_ERR.AUTH_TIMEOUT, 'auth timeout')
      }, this.#broker.options.authTimeoutMs)
    }
  }

  #onTransportClose(client: Client): void {
    client.onTransportClosed()
  }

  /** Forgets a closed client and logs it (the last 1000) for /connz?state=closed. */
  remove(client: Client, reason: string): void {
    const b = this.#broker
    if (!b.clients.delete(client.cid)) return
    b.closedConnections.push({
      cid: client.cid,
      ip: client.remoteAddress,
      port: client.remotePort,
      start: client.start,
      stop: new Date(),
      reason,
      name: client.name,
      user: client.user,
      inMsgs: client.inMsgs,
      outMsgs: client.outMsgs,
      inBytes: client.inBytes,
      outBytes: client.outBytes,
    })
    if (b.closedConnections.length > 1000) b.closedConnections.shift()
  }

  pingAll(): void {
    const max = this.#broker.options.maxPingsOut
    for (const c of this.#broker.clients.values()) {
      if (c.closed) continue
      if (c.pingsOut + 1 > max) c.closeWithError(PROTO_ERR.STALE, 'stale connection')
      else c.sendPing()
    }
  }

  sweep(): void {
    const now = Date.now()
    const deadline = this.#broker.options.writeDeadlineMs
    for (const c of this.#broker.clients.values()) if (!c.closed) c.checkWriteDeadline(now, deadline)
  }
}
