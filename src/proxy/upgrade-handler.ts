// `Upgrade` requests (WebSocket, and what a route opts in to) enter the same pipeline as every other
// request: handleRequest runs the connection-level checks' successors (request checks, path
// normalisation, ACLs, rate limits, in-flight caps, routing, GSLB, balancing with hash/sticky keys).
// Only the last step differs: forward() hands an upgrade to UpgradeExchange (upgrade-exchange.ts)
// instead of an HTTP exchange. Refusals are ordinary answers written through a ServerResponse bound
// to the socket, so the access log and metrics see them like any other.
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { ProxyErrorCodes } from './errors.js'
import type { RequestContext } from './request-context.js'
import { handleRequest, type ListenerInfo } from './request-handler.js'
import { requestHasBody, type CoreDeps } from './request-phases.js'
import { sendError } from './error-reply.js'

export class UpgradeTracker {
  readonly sockets = new Set<Duplex>()

  get size(): number {
    return this.sockets.size
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
  }
}

/** What the core keeps of an upgrade request until it is forwarded. */
export interface UpgradeState {
  readonly socket: Socket
  /** Bytes the client sent after the head (the first frames), written upstream after the 101. */
  readonly head: Buffer
  readonly tracker: UpgradeTracker
}

/** The protocol names of an Upgrade header, lower-cased (`websocket`, `h2c`, `foo/2`). */
export function upgradeTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(',') : value
  const out: string[] = []
  for (const part of text.split(',')) {
    const t = part.trim().toLowerCase()
    if (t !== '') out.push(t)
  }
  return out
}

/**
 * Called once the route is known: true when the upgrade was refused (answered). A route forwards
 * only the protocols in its `upgrade` list (default `websocket`); an upgrade with a body is refused
 * too, since the bytes after its head would reach the origin unframed.
 */
export function refuseUpgrade(ctx: RequestContext): boolean {
  const allowed = ctx.route?.upgrade ?? []
  const tokens = upgradeTokens(ctx.req.headers.upgrade)
  if (tokens.length === 0) {
    sendError(ctx, 400, ProxyErrorCodes.UPGRADE_REFUSED, 'Connection: upgrade without an Upgrade protocol')
    return true
  }
  for (const t of tokens) {
    // "websocket/13" names a version; the route lists protocol names.
    const slash = t.indexOf('/')
    const name = slash < 0 ? t : t.slice(0, slash)
    if (!allowed.includes(name)) {
      sendError(ctx, 400, ProxyErrorCodes.UPGRADE_REFUSED, `upgrade to ${JSON.stringify(t)} is not allowed on route ${ctx.routeName}`)
      return true
    }
  }
  if (requestHasBody(ctx.req)) {
    sendError(ctx, 400, ProxyErrorCodes.UPGRADE_REFUSED, 'an upgrade request must not carry a body')
    return true
  }
  return false
}

/** The listener's 'upgrade' event: wraps the socket in a response and runs the request pipeline. */
export function handleUpgrade(deps: CoreDeps, listener: ListenerInfo, tracker: UpgradeTracker, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const sock = socket as Socket
  sock.on('error', () => sock.destroy())
  // node:http took its 'data' listener off the socket; keep it paused explicitly so that frames the
  // client sends before the 101 wait in the socket until the tunnel pipes them, whatever the hooks
  // attach meanwhile (node leaves it non-flowing today; the test covers a frame sent during a hook).
  sock.pause()
  const res = new ServerResponse(req)
  // Any answer that is not a 101 ends the connection: the client's next bytes were meant for
  // another protocol.
  res.shouldKeepAlive = false
  res.assignSocket(sock)
  res.once('finish', () => sock.end())
  handleRequest(deps, listener, req, res, { socket: sock, head, tracker })
}
