// The last step of an upgrade request that passed every phase: one attempt at the chosen server.
// After the origin's 101 both sockets are piped byte for byte, independent of config generations,
// so open WebSockets survive reloads. A non-101 answer is relayed and the connection closes.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { ProxyErrorCodes } from './errors.js'
import { downstreamResponseHeaders } from './forwarding-headers.js'
import type { RequestContext } from './request-context.js'
import { upstreamFailed, validUpstreamStatus, type CoreDeps } from './request-phases.js'
import { stickyCookie } from './upstream-pool.js'
import type { UpstreamPool } from './upstream-pool.js'
import type { UpstreamServer } from './upstream-server.js'
import type { UpgradeState } from './upgrade-handler.js'

function headBlock(status: number, message: string, rawHeaders: readonly string[]): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  return `${s}\r\n`
}

export function forwardUpgrade(deps: CoreDeps, ctx: RequestContext, up: UpgradeState, pool: UpstreamPool, server: UpstreamServer): void {
  const socket = up.socket
  const res = ctx.res as ServerResponse
  const headers = { ...ctx.upstreamHeaders }
  headers['connection'] = 'upgrade'
  headers['upgrade'] = ctx.req.headers.upgrade as string
  const url = new URL(server.url)
  server.active++
  ctx.log.attempts = 1
  ctx.log.upstream_addr = server.address
  let released = false
  const release = (): void => {
    if (!released) {
      released = true
      server.active--
    }
  }
  const options = {
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    method: ctx.method,
    path: ctx.upstreamPath,
    headers,
    agent: false as const,
    timeout: pool.config.connectTimeoutMs,
  }
  const ureq = url.protocol === 'https:' ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options)
  const onClientClose = (): void => {
    release()
    ureq.destroy()
  }
  socket.once('close', onClientClose)
  ureq.on('timeout', () => ureq.destroy(Object.assign(new Error('upstream connect timeout'), { code: 'ETIMEDOUT' })))
  ureq.on('error', (err: Error & { code?: string }) => {
    release()
    if (socket.destroyed) return
    server.onConnectError()
    deps.metrics.upstreamError(pool.name, server.id, 'connect')
    upstreamFailed(deps, ctx, err, 502, ProxyErrorCodes.UPSTREAM_CONNECT, 'cannot connect to upstream')
  })
  ureq.on('response', (ures: IncomingMessage) => {
    // The origin refused the upgrade: relay its answer (the connection closes after it).
    const status = ures.statusCode ?? 0
    ctx.log.upstream_status = status
    if (!validUpstreamStatus(status)) {
      release()
      ures.destroy()
      upstreamFailed(deps, ctx, new Error(`upstream status ${status}`), 502, ProxyErrorCodes.UPSTREAM_STATUS, `upstream answered with status ${status}, outside 100-599`)
      return
    }
    server.onResponse(status)
    deps.metrics.upstream(pool.name, server.id, status, 0)
    const out = downstreamResponseHeaders(ures.headers)
    const idHeader = ctx.gen.config.headers.requestId
    if (idHeader !== false && out[idHeader] === undefined) out[idHeader] = ctx.id
    res.writeHead(status, ures.statusMessage ?? '', out)
    ures.on('data', (c: Buffer) => (ctx.bytesSent += c.length))
    ures.on('end', release)
    ures.pipe(res)
  })
  ureq.on('upgrade', (ures: IncomingMessage, usocket: Socket, uhead: Buffer) => {
    ureq.setTimeout(0)
    socket.off('close', onClientClose)
    server.onResponse(101)
    deps.metrics.upstream(pool.name, server.id, 101, 0)
    release()
    if (socket.destroyed) {
      usocket.destroy()
      return
    }
    const tracker = up.tracker
    tracker.sockets.add(socket)
    usocket.setNoDelay(true)
    socket.setNoDelay(true)
    usocket.on('error', () => socket.destroy())
    socket.on('error', () => usocket.destroy())
    usocket.once('close', () => socket.destroy())
    socket.once('close', () => {
      tracker.sockets.delete(socket)
      usocket.destroy()
    })
    const raw = [...ures.rawHeaders]
    if (ctx.stickySet !== undefined && pool.config.sticky !== undefined) raw.push('set-cookie', stickyCookie(pool.config.sticky, ctx.stickySet))
    // The request is over for the core: its log line, metrics and in-flight slot end here.
    ctx.log.status = 101
    ctx.log.upstream_status = 101
    ctx.upgraded = true
    res.detachSocket(socket)
    res.emit('close')
    socket.write(headBlock(101, ures.statusMessage ?? 'Switching Protocols', raw))
    if (uhead.length > 0) socket.write(uhead)
    if (up.head.length > 0) usocket.write(up.head)
    usocket.pipe(socket)
    socket.pipe(usocket)
  })
  ureq.end()
}
