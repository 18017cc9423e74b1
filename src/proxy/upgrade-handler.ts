// Upgrade (WebSocket and others) proxying: the handshake goes through routing, header rules and
// balancing; after a 101 both sockets are piped byte for byte, independent of config generations,
// so open WebSockets survive reloads.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { ProxyErrorCodes } from './errors.js'
import { addForwardingHeaders, clientIpOf, normaliseIp, upstreamRequestHeaders } from './forwarding-headers.js'
import type { CoreDeps, ListenerInfo } from './request-handler.js'
import type { UpstreamServer } from './upstream-server.js'

function rawResponse(status: number, message: string, code: string): string {
  const body = `${status} ${message} (${code})\n`
  return `HTTP/1.1 ${status} ${message}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\nx-switchyard-error: ${code}\r\n\r\n${body}`
}

function headBlock(status: number, message: string, rawHeaders: readonly string[]): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  return `${s}\r\n`
}

export class UpgradeTracker {
  readonly sockets = new Set<Duplex>()

  get size(): number {
    return this.sockets.size
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
  }
}

export function handleUpgrade(deps: CoreDeps, listener: ListenerInfo, tracker: UpgradeTracker, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const gen = deps.current()
  socket.on('error', () => socket.destroy())
  const fail = (status: number, message: string, code: string): void => {
    if (socket.writable) socket.end(rawResponse(status, message, code))
    else socket.destroy()
  }
  const hostHeader = req.headers.host ?? ''
  const host = hostHeader.replace(/:\d+$/, '').toLowerCase()
  const path = req.url ?? '/'
  const route = gen.router.match(host, path, req.method ?? 'GET', (n) => {
    const v = req.headers[n]
    return Array.isArray(v) ? v.join(', ') : v
  })
  if (route === undefined) return fail(404, 'Not Found', ProxyErrorCodes.NO_ROUTE)
  const pool = gen.pools.get(route.pool)
  const peer = normaliseIp((socket as Socket).remoteAddress)
  const xff = req.headers['x-forwarded-for']
  const clientIp = clientIpOf(peer, Array.isArray(xff) ? xff.join(',') : xff, gen.forwarding.trusted)
  let server: UpstreamServer | undefined
  if (pool !== undefined) {
    const key = pool.hashOn?.source === 'ip' ? clientIp : undefined
    server = pool.balancer.pick(key)
  }
  if (pool === undefined || server === undefined) return fail(503, 'Service Unavailable', ProxyErrorCodes.NO_HEALTHY_SERVER)
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection)
  headers['connection'] = 'upgrade'
  if (req.headers.upgrade !== undefined) headers['upgrade'] = req.headers.upgrade
  addForwardingHeaders(headers, peer, listener.tls ? 'https' : 'http', host, req.httpVersion, gen.forwarding)
  const idHeader = gen.config.headers.requestId
  if (idHeader !== false && headers[idHeader] === undefined) headers[idHeader] = crypto.randomUUID()
  const url = new URL(server.url)
  const target = server
  target.active++
  let released = false
  const release = (): void => {
    if (!released) {
      released = true
      target.active--
    }
  }
  const options = {
    host: url.hostname,
    port: url.port,
    method: req.method ?? 'GET',
    path: route.rewrite(path),
    headers,
    agent: false as const,
    timeout: pool.config.connectTimeoutMs,
  }
  const ureq = url.protocol === 'https:' ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options)
  socket.once('close', () => {
    release()
    ureq.destroy()
  })
  ureq.on('timeout', () => ureq.destroy(Object.assign(new Error('upstream connect timeout'), { code: 'ETIMEDOUT' })))
  ureq.on('error', (err: Error & { code?: string }) => {
    release()
    if (err.code === 'ECONNREFUSED' || err.code === 'ETIMEDOUT') target.onConnectError()
    fail(502, 'Bad Gateway', ProxyErrorCodes.UPSTREAM_CONNECT)
  })
  ureq.on('response', (ures: IncomingMessage) => {
    // The upstream refused the upgrade: relay its answer and close.
    target.onResponse(ures.statusCode ?? 502)
    const raw: string[] = []
    for (let i = 0; i < ures.rawHeaders.length; i += 2) {
      const name = ures.rawHeaders[i] as string
      if (!/^(connection|transfer-encoding|keep-alive|content-length)$/i.test(name)) raw.push(name, ures.rawHeaders[i + 1] as string)
    }
    raw.push('connection', 'close')
    socket.write(headBlock(ures.statusCode ?? 502, ures.statusMessage ?? '', raw))
    ures.pipe(socket)
  })
  ureq.on('upgrade', (ures: IncomingMessage, usocket: Socket, uhead: Buffer) => {
    ureq.setTimeout(0)
    target.onResponse(101)
    tracker.sockets.add(socket)
    usocket.setNoDelay(true)
    ;(socket as Socket).setNoDelay?.(true)
    usocket.on('error', () => socket.destroy())
    socket.on('error', () => usocket.destroy())
    usocket.once('close', () => socket.destroy())
    socket.once('close', () => {
      tracker.sockets.delete(socket)
      usocket.destroy()
    })
    socket.write(headBlock(ures.statusCode ?? 101, ures.statusMessage ?? 'Switching Protocols', ures.rawHeaders))
    if (uhead.length > 0) socket.write(uhead)
    if (head.length > 0) usocket.write(head)
    usocket.pipe(socket)
    socket.pipe(usocket)
  })
  ureq.end()
}
