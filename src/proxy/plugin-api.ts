// Extension points of the proxy core. Protection (limits, ACL, smuggling checks), caching and GSLB
// plug in here without the core knowing them: a plugin (plugins.ts) returns a ProxyHooks object per
// config generation, and the core calls the hooks at fixed points of every connection and request.
//
// Contract, in the order the core calls things:
//
//   configureServer(server, listener)      once per listening server, right after it is created:
//                                          set timeouts (headersTimeout, requestTimeout, ...) here.
//   onConnection(conn)                     each accepted TCP connection (before TLS): return false
//                                          to reject; the core destroys the socket. Sync on purpose.
//   onRequest(ctx)                         each request, before routing. ctx.path may be replaced by
//                                          a normalised path (routing and rewrites use ctx.path).
//   onRoute(ctx)                           after a route matched (ctx.route set), before any
//                                          upstream work: rate limits, per-route ACL, cache lookup.
//                                          ctx.upstreamHeaders may be edited (e.g. If-None-Match).
//   selectPool(ctx)                        may return the name of another pool (GSLB: the nearest
//                                          healthy region's pool); first non-undefined answer wins.
//   onResponse(ctx, response)              upstream status + headers arrived, nothing sent to the
//                                          client yet: edit response.headers, or return a
//                                          BodyObserver to see the body as it streams (cache tee),
//                                          or 'handled' after answering ctx.res yourself (e.g. a
//                                          304 from upstream turned into a cached 200); the core
//                                          then discards the upstream body.
//   onUpstreamError(ctx, error)            no usable upstream answer (all attempts failed, pool
//                                          down, timeout): 'handled' after answering ctx.res
//                                          yourself (stale-if-error), else the core sends 502/503/504.
//   onLog(ctx, record)                     just before the access-log line is written.
//   close()                                this config generation retired (after a reload, once
//                                          its in-flight requests finished) or the proxy stopped.
//
// Return values: `'handled'` means the hook wrote (or is writing) the response on ctx.res and the
// core must do nothing more for this request except logging. Anything else continues. Any hook
// may return a Promise; the core only awaits when a Promise is returned, so sync hooks cost no
// extra tick. A hook that throws or rejects produces a 500 (logged with ERR_PROXY_HOOK_FAILED).
// Use `respond(ctx, status, body, headers)` below to answer directly: it also fills the log record.
//
// Hooks of several plugins run in plugin order (plugins.ts); the first 'handled' stops the chain.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { Logger } from '../internal/logger.js'
import type { Registry } from '../internal/metrics.js'
import type { AdminServer } from '../internal/admin-server.js'
import type { ListenerConfig, ProxyConfig, RouteConfig } from './config.js'

export const HANDLED = 'handled'
export type HookResult = void | undefined | typeof HANDLED
export type MaybePromise<T> = T | Promise<T>

export type ClientRequest = IncomingMessage | Http2ServerRequest
export type ClientResponse = ServerResponse | Http2ServerResponse

export interface ConnectionInfo {
  readonly socket: Socket
  readonly remoteAddress: string
  readonly remotePort: number
  /** Listener name (config `name`, else `protocol:port`). */
  readonly listener: string
  readonly listenerConfig: ListenerConfig
  readonly tls: boolean
}

/**
 * The access-log record of one request; one JSON line. Plugins add their verdicts in the named
 * fields (`cache`, `limit`, `region`) or any other key (keep keys snake_case, values JSON-safe).
 */
export interface AccessLogRecord {
  time: string
  remote_addr: string
  remote_user: string
  request: string
  method: string
  host: string
  path: string
  protocol: string
  status: number
  body_bytes_sent: number
  http_referer: string
  http_user_agent: string
  request_id: string
  route: string
  pool: string
  upstream_addr: string
  upstream_status: number
  /** Seconds from upstream dispatch to response headers (nginx's upstream_header_time); -1 if none. */
  upstream_time: number
  /** Seconds from the request's arrival to the end of the response. */
  request_time: number
  attempts: number
  error?: string
  /** Cache verdict: HIT, MISS, STALE, BYPASS, ... */
  cache?: string
  /** Limit verdict: e.g. allowed, limited, denied. */
  limit?: string
  /** GSLB region that served the request. */
  region?: string
  [key: string]: unknown
}

/** A read-only view of an upstream server, for plugins (GSLB health, admin, metrics). */
export interface UpstreamServerView {
  readonly id: string
  readonly url: string
  readonly weight: number
  /** True when the balancer may pick it: healthy, not ejected, not drained. */
  readonly available: boolean
  readonly state: 'up' | 'down' | 'ejected' | 'draining'
  readonly active: number
}

export interface UpstreamPoolView {
  readonly name: string
  readonly servers: readonly UpstreamServerView[]
  /** Number of servers the balancer may pick right now. */
  availableCount(): number
  /** The `region` slot of this pool's config (opaque to the core). */
  readonly region: unknown
}

/** What `ctx.fetchUpstream` sends: a side request through the matched pool (cache revalidation). */
export interface UpstreamFetchInit {
  method?: string
  path?: string
  headers?: Record<string, string>
  /** Pool name; default: the pool the request would use. */
  pool?: string
}

export interface UpstreamFetchResult {
  statusCode: number
  headers: IncomingHttpHeaders
  body: Buffer
  trailers: IncomingHttpHeaders
}

export interface ProxyRequestContext {
  readonly req: ClientRequest
  readonly res: ClientResponse
  readonly id: string
  /** Client IP after trusted-proxy handling (the X-Forwarded-For hop before the trusted ones). */
  clientIp: string
  /** Socket peer address. */
  readonly peerIp: string
  readonly method: string
  /** Host without port, lower-cased. */
  readonly host: string
  /** The admitted `host[:port]`, exactly the Host the origin is sent ('' when none was admitted). */
  readonly authority: string
  /** Path + query as routed. onRequest may replace it with a normalised one. */
  path: string
  readonly listener: string
  readonly tls: boolean
  /** Set after the route matched. */
  route: RouteConfig | undefined
  readonly routeName: string
  /** Pool chosen for the request (after selectPool). */
  poolName: string
  /** Headers to send upstream (hop-by-hop removed, X-Forwarded-*, Via... already added). */
  readonly upstreamHeaders: Record<string, string | string[]>
  readonly log: AccessLogRecord
  /** Per-request scratch space for plugins; use a Symbol or your plugin name as key. */
  readonly locals: Map<unknown, unknown>
  /** process.hrtime.bigint() when the request arrived. */
  readonly startNs: bigint
  /** Looks up a pool of the current config generation. */
  pool(name: string): UpstreamPoolView | undefined
  /** A request to the upstream pool that does not touch ctx.res; the body is buffered. */
  fetchUpstream(init?: UpstreamFetchInit): Promise<UpstreamFetchResult>
}

export interface UpstreamResponse {
  statusCode: number
  /** Response headers after hop-by-hop removal; mutable. */
  headers: OutgoingHttpHeaders
  /** Server id that answered. */
  readonly server: string
}

export interface BodyObserver {
  onData(chunk: Buffer): void
  onEnd(trailers: IncomingHttpHeaders): void
  /** The body did not complete (upstream error, client abort). */
  onAbort(error: Error): void
}

export interface ProxyHooks {
  configureServer?(server: HttpServer | HttpsServer | Http2SecureServer, listener: ListenerConfig): void
  onConnection?(conn: ConnectionInfo): boolean
  onRequest?(ctx: ProxyRequestContext): MaybePromise<HookResult>
  onRoute?(ctx: ProxyRequestContext): MaybePromise<HookResult>
  selectPool?(ctx: ProxyRequestContext): string | undefined
  onResponse?(ctx: ProxyRequestContext, response: UpstreamResponse): MaybePromise<HookResult | BodyObserver>
  onUpstreamError?(ctx: ProxyRequestContext, error: Error, status: number): MaybePromise<HookResult>
  onLog?(ctx: ProxyRequestContext, record: AccessLogRecord): void
  close?(): MaybePromise<void>
}

/** What a plugin gets when a config generation starts. */
export interface PluginContext {
  readonly config: ProxyConfig
  readonly logger: Logger
  /** Register plugin metrics here (names prefixed `switchyard_proxy_`). Same registry across reloads. */
  readonly registry: Registry
  /** Admin server when configured (add routes once: check `previous` to avoid re-registering). */
  readonly admin: AdminServer | undefined
  /** The hooks this plugin returned for the previous generation, to carry state across reloads. */
  readonly previous: ProxyHooks | undefined
  pool(name: string): UpstreamPoolView | undefined
  readonly pools: readonly UpstreamPoolView[]
}

export interface ProxyPlugin {
  readonly name: string
  /**
   * True when the hooks use only this part of ctx.req / ctx.res: headers, rawHeaders, method,
   * url, httpVersion*, socket, complete, once('close'); setHeader/getHeader, writeHead, write,
   * end, destroy, headersSent, writableEnded/Finished, destroyed, statusCode, 'close'/'drain'.
   * Then requests on the HTTP/1.1 fast path (docs/proxy.md) run through this plugin too;
   * otherwise a config with this plugin serves every request through node:http.
   */
  readonly fastPathSafe?: boolean
  /** Returns undefined when the config does not use the plugin. Throw a ConfigError to refuse a config. */
  create(ctx: PluginContext): MaybePromise<ProxyHooks | undefined>
}

/** Answers a request directly from a hook (429, 403, a cached body...) and records it for the log. */
export function respond(ctx: ProxyRequestContext, status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): typeof HANDLED {
  const res = ctx.res
  if (!res.headersSent) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body
    const out: OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', ...headers, 'content-length': buf.length }
    if (ctx.id !== '') out['x-request-id'] ??= ctx.id
    // Logged before end(): the fast path's end() emits 'close', which writes the access log line.
    ctx.log.status = status
    ctx.log.body_bytes_sent = ctx.method === 'HEAD' ? 0 : buf.length
    ;(res as ServerResponse).writeHead(status, out)
    ;(res as ServerResponse).end(ctx.method === 'HEAD' ? undefined : buf)
  }
  return HANDLED
}
