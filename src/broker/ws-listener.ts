// The broker's WebSocket listener (NATS over WebSocket, as nats.ws and nats-server speak it):
// plain or TLS, binary frames, no compression. Each accepted socket is handed to the broker.
import type { AddressInfo } from 'node:net'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Logger } from 'pino'
import type { DeepReadonly } from '../internal/freeze.js'
import type { WebSocketOptions } from './options.js'

export interface WsListener {
  readonly port: number
  /** Terminates every open WebSocket and stops listening. */
  close(): Promise<void>
}

export async function listenWebSocket(
  ws: DeepReadonly<WebSocketOptions>,
  host: string,
  logger: Logger,
  onConnection: (sock: WebSocket, ip: string, port: number) => void,
): Promise<WsListener> {
  let wss: WebSocketServer
  let https: HttpsServer | undefined
  let port: number
  if (ws.tls !== undefined) {
    const server = createHttpsServer({ cert: ws.tls.cert, key: ws.tls.key })
    https = server
    wss = new WebSocketServer({ server, perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(ws.port, host, () => resolve())
    })
    port = (server.address() as AddressInfo).port
  } else {
    const server = new WebSocketServer({ host, port: ws.port, perMessageDeflate: false })
    wss = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.once('listening', () => resolve())
    })
    port = (server.address() as AddressInfo).port
  }
  wss.on('error', (err) => logger.error({ err }, 'websocket listener error'))
  wss.on('connection', (sock, req) => onConnection(sock, req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0))
  return {
    port,
    close: async () => {
      for (const sock of wss.clients) sock.terminate()
      const waits = [new Promise<void>((resolve) => wss.close(() => resolve()))]
      if (https !== undefined) {
        const h = https
        waits.push(new Promise<void>((resolve) => h.close(() => resolve())))
        h.closeAllConnections()
      }
      await Promise.all(waits)
    },
  }
}
