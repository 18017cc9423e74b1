// Per-request state shared by the core and the plugin hooks (implements ProxyRequestContext).
import type { IncomingHttpHeaders } from 'node:http'
import { request as undiciRequest } from 'undici'
import type { Generation } from './generation.js'
import type { AccessLogRecord, ClientRequest, ClientResponse, ProxyRequestContext, UpstreamFetchInit, UpstreamFetchResult, UpstreamPoolView } from './plugin-api.js'
import type { RouteConfig } from './config.js'
import { ProxyError, ProxyErrorCodes } from './errors.js'
import type { CompiledRoute } from './router.js'
import type { UpgradeState } from './upgrade-handler.js'

export class RequestContext implements ProxyRequestContext {
  readonly req: ClientRequest
  readonly res: ClientResponse
  readonly id: string
  clientIp: string
  readonly peerIp: string
  readonly method: string
  readonly host: string
  /** The admitted `host[:port]` (request-admission.ts): the Host sent upstream. */
  authority = ''
  path: string
  readonly listener: string
  readonly tls: boolean
  route: RouteConfig | undefined = undefined
  compiled: CompiledRoute | undefined = undefined
  routeName = '-'
  poolName = '-'
  #upstreamHeaders: Record<string, string | string[]> | undefined = {}
  #buildUpstreamHeaders: ((ctx: RequestContext) => Record<string, string | string[]>) | undefined = undefined
  /** Path sent upstream (after rewrite). */
  upstreamPath = ''
  readonly log: AccessLogRecord
  #locals: Map<unknown, unknown> | undefined
  readonly startNs: bigint
  readonly gen: Generation
  /** Set when the response has been taken over by a hook or finished by the core. */
  done = false
  /**
   * The client's side is gone (the response emitted 'close'): no upstream attempt may start or
   * stay running. Checked by the exchange, since an h2 stream reset can come before undici has
   * even handed the attempt its controller (Http2ServerResponse has no `destroyed`).
   */
  clientClosed = false
  /** Sticky cookie to set on the response (server id), when the pool is sticky. */
  stickySet: string | undefined = undefined
  bytesSent = 0
  /** Set for an `Upgrade` request (upgrade-handler.ts): the client socket and bytes read past the head. */
  upgrade: UpgradeState | undefined = undefined
  /** The origin answered 101: the connection is a tunnel now and the request is over for the core. */
  upgraded = false
  /** The upstream attempt in flight (upstream-exchange.ts); told when the client's response closes. */
  exchange: { clientClosed(): void } | undefined = undefined

  constructor(gen: Generation, req: ClientRequest, res: ClientResponse, id: string, peer: string, clientIp: string, host: string, listener: string, tls: boolean) {
    this.gen = gen
    this.req = req
    this.res = res
    this.id = id
    this.peerIp = peer
    this.clientIp = clientIp
    this.method = req.method ?? 'GET'
    this.host = host
    this.path = req.url ?? '/'
    this.listener = listener
    this.tls = tls
    this.startNs = process.hrtime.bigint()
    const h = req.headers
    this.log = {
      time: '',
      remote_addr: clientIp,
      remote_user: '-',
      request: '',
      method: this.method,
      host,
      path: this.path,
      protocol: `HTTP/${req.httpVersion}`,
      status: 0,
      body_bytes_sent: 0,
      http_referer: (h['referer'] as string | undefined) ?? '-',
      http_user_agent: (h['user-agent'] as string | undefined) ?? '-',
      request_id: id,
      route: '-',
      pool: '-',
      upstream_addr: '-',
      upstream_status: 0,
      upstream_time: -1,
      request_time: 0,
      attempts: 0,
    }
  }

  /** Headers to send upstream; built on first access after routing (see deferUpstreamHeaders). */
  get upstreamHeaders(): Record<string, string | string[]> {
    if (this.#upstreamHeaders === undefined) {
      const build = this.#buildUpstreamHeaders
      this.#buildUpstreamHeaders = undefined
      this.#upstreamHeaders = build === undefined ? {} : build(this)
    }
    return this.#upstreamHeaders
  }

  set upstreamHeaders(h: Record<string, string | string[]>) {
    this.#upstreamHeaders = h
    this.#buildUpstreamHeaders = undefined
  }

  /** The core sets how to build the upstream headers once a route matched; built when first read. */
  deferUpstreamHeaders(build: (ctx: RequestContext) => Record<string, string | string[]>): void {
    this.#upstreamHeaders = undefined
    this.#buildUpstreamHeaders = build
  }

  get locals(): Map<unknown, unknown> {
    this.#locals ??= new Map()
    return this.#locals
  }

  pool(name: string): UpstreamPoolView | undefined {
    return this.gen.pools.get(name)
  }

  async fetchUpstream(init: UpstreamFetchInit = {}): Promise<UpstreamFetchResult> {
    const pool = this.gen.pools.get(init.pool ?? this.poolName)
    const server = pool?.pick(undefined)
    if (pool === undefined || server === undefined) {
      throw new ProxyError(ProxyErrorCodes.NO_HEALTHY_SERVER, `Cannot fetch upstream: no available server in pool ${JSON.stringify(init.pool ?? this.poolName)}`)
    }
    const headers = init.headers ?? (this.upstreamHeaders as Record<string, string>)
    server.active++
    try {
      const r = await undiciRequest(server.origin + (init.path ?? (this.upstreamPath || this.path)), {
        method: (init.method ?? this.method) as 'GET',
        headers,
        dispatcher: server.dispatcher,
      })
      const chunks: Buffer[] = []
      for await (const c of r.body) chunks.push(c as Buffer)
      server.onResponse(r.statusCode)
      return { statusCode: r.statusCode, headers: r.headers as IncomingHttpHeaders, body: Buffer.concat(chunks), trailers: r.trailers as IncomingHttpHeaders }
    } catch (err) {
      server.onConnectError()
      throw err
    } finally {
      server.active--
    }
  }
}
