// The request path, one direction: admission, the onRequest hooks, routing, the onRoute and
// selectPool hooks, then forward() (upstream-exchange.ts) picks a server through the pool and runs
// one exchange per attempt. Hook phases and error replies are request-phases.ts / error-reply.ts.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import type { ListenerConfig } from './config.js'
import { sendError } from './error-reply.js'
import { ProxyErrorCodes } from './errors.js'
import { addForwardingHeaders, applyHeaderEdits, clientIpFromHeaders, normaliseIp, upstreamRequestHeaders } from './forwarding-headers.js'
import { headerPolicy } from './header-policy.js'
import type { ClientResponse, ProxyHooks } from './plugin-api.js'
import { RequestContext } from './request-context.js'
import { admitRequest, ALLOWED_METHODS } from './request-admission.js'
import { requestCrashed } from './request-guard.js'
import { hookFailed, runPhase, type CoreDeps, type HookCall } from './request-phases.js'
import { forward } from './upstream-exchange.js'
import { refuseUpgrade, type UpgradeState } from './upgrade-handler.js'

export interface ListenerInfo {
  readonly name: string
  config: ListenerConfig
  readonly tls: boolean
  /** Actual bound port (for redirects when the config says port 0). */
  port: number
}

// The hot phases' calls are module functions, not per-request closures.
const callOnRequest: HookCall = (h, ctx) => h.onRequest?.(ctx)
const callOnRoute: HookCall = (h, ctx) => h.onRoute?.(ctx)

const REQUEST_ID_RE = /^[A-Za-z0-9._:@/+=-]{1,200}$/

let isoMs = 0
let isoText = ''
/** The access log's timestamp; many requests end in the same millisecond under load. */
function isoNow(): string {
  const now = Date.now()
  if (now !== isoMs) {
    isoMs = now
    isoText = new Date(now).toISOString()
  }
  return isoText
}

export function finishLog(deps: CoreDeps, ctx: RequestContext): void {
  const res = ctx.res
  const log = ctx.log
  const seconds = Number(process.hrtime.bigint() - ctx.startNs) / 1e9
  log.status = log.status || (res.headersSent ? res.statusCode : 499)
  // An upgraded request ends with its 101; the tunnel after it is not part of the request.
  const finished = res.writableFinished || ctx.upgraded
  if (!finished && log.status !== 499 && !res.headersSent) log.status = 499
  if (!finished && log.error === undefined) log.error = ProxyErrorCodes.CLIENT_ABORTED
  log.body_bytes_sent ||= ctx.bytesSent
  log.request_time = Math.round(seconds * 1e6) / 1e6
  log.route = ctx.routeName
  log.pool = ctx.poolName
  deps.metrics.request(ctx.routeName, log.status, seconds)
  const gen = ctx.gen
  if (deps.accessLog !== undefined || gen.onLog.length > 0) {
    log.time = isoNow()
    // `request` is the line as received (like nginx); `path` is what was routed (after onRequest).
    log.request = `${ctx.method} ${ctx.req.url ?? ctx.path} HTTP/${ctx.req.httpVersion}`
    log.path = ctx.path
    for (const h of gen.onLog) {
      try {
        h.onLog?.(ctx, log)
      } catch (err) {
        deps.logger.error({ err, code: ProxyErrorCodes.HOOK_FAILED }, 'onLog hook failed')
      }
    }
    deps.accessLog?.write(log)
  }
}

/**
 * Entry point for every client request on every listener and every way in (node:http, the fast
 * path, HTTP/2, and `Upgrade` requests, which pass `upgrade`): one pipeline for all of them.
 */
export function handleRequest(deps: CoreDeps, listener: ListenerInfo, req: IncomingMessage | Http2ServerRequest, res: ServerResponse | ClientResponse, upgrade?: UpgradeState): void {
  const gen = deps.current()
  gen.enter()
  const peer = normaliseIp(req.socket?.remoteAddress)
  const clientIp = clientIpFromHeaders(peer, req.headers, gen.forwarding.trusted)
  const idHeader = gen.config.headers.requestId
  let id = ''
  if (idHeader !== false) {
    const incoming = req.headers[idHeader]
    id = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID()
  }
  const admission = admitRequest(req)
  const ctx = new RequestContext(gen, req, res, id, peer, clientIp, admission.kind === 'admit' ? admission.host : '', listener.name, listener.tls)
  if (upgrade !== undefined) ctx.upgrade = upgrade
  // on + a flag rather than once: no once-wrapper and no listener removal per request.
  let closed = false
  res.on('close', () => {
    if (closed) return
    closed = true
    ctx.done = true
    ctx.clientClosed = true
    finishLog(deps, ctx)
    gen.leave()
    // After the log line, like the exchange's own listener that this replaces used to run.
    ctx.exchange?.clientClosed()
  })
  // A response queued behind another on a pipelining connection that then closes never gets the
  // socket, and node never emits its 'close': emit it when the request goes with its socket, or
  // the request would count as in flight forever (and block reload and shutdown).
  if (!('stream' in req) && (res as ServerResponse).socket === null) {
    req.once('close', () => {
      if (!closed && (res as ServerResponse).socket === null && req.socket?.destroyed !== false) res.emit('close')
    })
  }
  try {
    if (admission.kind === 'admit') {
      ctx.authority = admission.authority
      if (admission.path !== undefined) ctx.path = ctx.log.path = admission.path
    } else {
      // Answered after the onRequest hooks: the protection layer sees (and logs, and closes the
      // connection of) a malformed request first, as it does for every other malformed shape.
      refusals.set(ctx, admission)
    }
    const redirect = listener.config.redirectToHttps
    if (redirect !== undefined && redirect !== false && !listener.tls) {
      const port = redirect === true ? 443 : redirect
      const location = `https://${ctx.host}${port === 443 ? '' : `:${port}`}${ctx.path}`
      ;(res as ServerResponse).writeHead(308, { location, 'content-length': 0 })
      res.end()
      return
    }
    if (gen.onRequest.length === 0) route(deps, ctx)
    else runPhase(deps, ctx, gen.onRequest, callOnRequest, route)
  } catch (err) {
    requestCrashed(deps, ctx, err)
  }
}

type NotAdmitted = Exclude<ReturnType<typeof admitRequest>, { kind: 'admit' }>
const refusals = new WeakMap<RequestContext, NotAdmitted>()

/** The answers of request-admission.ts: a refusal, or the proxy's own reply to `OPTIONS *`. */
function answerAdmission(ctx: RequestContext, a: NotAdmitted): void {
  if (a.kind === 'options') {
    ctx.done = true
    ;(ctx.res as ServerResponse).writeHead(204, { allow: ALLOWED_METHODS })
    ctx.res.end()
    return
  }
  if (a.allow !== undefined) ctx.res.setHeader('allow', a.allow)
  // What follows a malformed HTTP/1 request on its connection is not trusted to be framed right.
  if (ctx.req.httpVersionMajor === 1) ctx.res.setHeader('connection', 'close')
  sendError(ctx, a.status, a.code, a.message)
}

function buildUpstreamHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const req = ctx.req
  const gen = ctx.gen
  const h = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, headerPolicy(gen.config, ctx.route))
  // undici refuses `expect`; the client got its 100 Continue from us already.
  delete h['expect']
  // What routing and the cache keyed on is what the origin sees (request-admission.ts).
  if (ctx.authority !== '') h['host'] = ctx.authority
  const cfg = gen.config.headers
  addForwardingHeaders(h, ctx.peerIp, ctx.tls ? 'https' : 'http', (h['host'] as string | undefined) ?? ctx.host, req.httpVersion, gen.forwarding)
  if (cfg.requestId !== false) h[cfg.requestId] = ctx.id
  const route = ctx.route
  const rw = route?.rewrite
  if (rw?.host !== undefined) h['host'] = rw.host
  applyHeaderEdits(h, route?.requestHeaders)
  return h
}

function route(deps: CoreDeps, ctx: RequestContext): void {
  const gen = ctx.gen
  const req = ctx.req
  // An HTTP/1 parser accepts "HTTP/2.0" or "HTTP/0.9" in a request line; that is no HTTP/2 stream.
  // (The protection plugin refuses these earlier with a 400; this covers configs without it.)
  if (req.httpVersionMajor !== 1 && !('stream' in req)) {
    sendError(ctx, 505, ProxyErrorCodes.HTTP_VERSION, `HTTP version ${req.httpVersion} is not supported on this listener`)
    return
  }
  const refusal = refusals.get(ctx)
  if (refusal !== undefined) {
    answerAdmission(ctx, refusal)
    return
  }
  const compiled = gen.router.match(ctx.host, ctx.path, ctx.method, (n) => {
    const v = req.headers[n]
    return Array.isArray(v) ? v.join(', ') : v
  })
  if (compiled === undefined) {
    sendError(ctx, 404, ProxyErrorCodes.NO_ROUTE, 'no route matches this request')
    return
  }
  ctx.compiled = compiled
  ctx.route = compiled.config
  ctx.routeName = compiled.name
  ctx.poolName = compiled.pool
  ctx.upstreamPath = compiled.rewrite(ctx.path)
  if (ctx.upgrade !== undefined && refuseUpgrade(ctx)) return
  // Built on first use (the upstream exchange, or a hook that edits them): a cache hit answered in
  // onRoute never pays for hop-by-hop filtering and forwarding headers.
  ctx.deferUpstreamHeaders(buildUpstreamHeaders)
  if (gen.onRoute.length === 0 && gen.selectPool.length === 0) forward(deps, ctx, undefined, 0)
  else runPhase(deps, ctx, gen.onRoute, callOnRoute, selectAndForward)
}

function selectAndForward(deps: CoreDeps, ctx: RequestContext): void {
  const hooks = ctx.gen.selectPool
  for (let i = 0; i < hooks.length; i++) {
    const h = hooks[i] as ProxyHooks
    try {
      const name = h.selectPool?.(ctx)
      if (name !== undefined && ctx.gen.pools.has(name)) {
        ctx.poolName = name
        break
      }
    } catch (err) {
      hookFailed(deps, ctx, err)
      return
    }
  }
  forward(deps, ctx, undefined, 0)
}
