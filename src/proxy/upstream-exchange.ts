// One attempt of a request at one upstream server: an undici dispatch handler that streams the
// answer into the client response with backpressure, feeds passive health and metrics, and on a
// failure before any response byte either retries elsewhere (idempotent, no body, budget left)
// or answers 502/504.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import { DEFAULTS } from './config.js'
import { ProxyErrorCodes } from './errors.js'
import { applyHeaderEdits, downstreamResponseHeaders } from './forwarding-headers.js'
import { HANDLED, type BodyObserver, type ProxyHooks, type UpstreamResponse } from './plugin-api.js'
import type { RequestContext } from './request-context.js'
import { IDEMPOTENT_METHODS } from './idempotent.js'
import { hookFailed, requestHasBody, upstreamFailed, validUpstreamStatus, type CoreDeps } from './request-phases.js'
import { guarded } from './request-guard.js'
import { forwardUpgrade } from './upgrade-exchange.js'
import { pickServer, stickyCookie, type UpstreamPool } from './upstream-pool.js'
import type { UpstreamServer } from './upstream-server.js'


const ErrorKind = { CONNECT: 'connect', RESET: 'reset', TIMEOUT: 'timeout', PROTOCOL: 'protocol', ABORTED: 'aborted' } as const
type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind]

function classify(err: Error & { code?: string }): ErrorKind {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EAI_AGAIN':
    case 'ECONNABORTED':
      return ErrorKind.CONNECT
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return ErrorKind.TIMEOUT
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return ErrorKind.RESET
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return ErrorKind.ABORTED
    default:
      return ErrorKind.PROTOCOL
  }
}

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #deps: CoreDeps
  readonly #ctx: RequestContext
  readonly #pool: UpstreamPool
  readonly #server: UpstreamServer
  readonly #skip: Set<UpstreamServer> | undefined
  readonly #attempt: number
  readonly #hasBody: boolean
  #controller: Dispatcher.DispatchController | undefined
  #responded = false
  #finished = false
  #startNs = 0n
  #observer: BodyObserver | undefined
  #discard = false

  constructor(deps: CoreDeps, ctx: RequestContext, pool: UpstreamPool, server: UpstreamServer, skip: Set<UpstreamServer> | undefined, attempt: number) {
    this.#deps = deps
    this.#ctx = ctx
    this.#pool = pool
    this.#server = server
    this.#skip = skip
    this.#attempt = attempt
    this.#hasBody = requestHasBody(ctx.req)
  }

  start(): void {
    const ctx = this.#ctx
    const server = this.#server
    const timeouts = ctx.route?.timeouts
    server.active++
    ctx.log.attempts = this.#attempt + 1
    ctx.log.upstream_addr = server.address
    this.#startNs = process.hrtime.bigint()
    // The core's one 'close' listener of this response calls clientClosed() (request-handler.ts):
    // no listener (and no closure) of our own to add and remove per attempt.
    ctx.exchange = this
    const opts: Dispatcher.DispatchOptions = {
      origin: server.origin,
      path: ctx.upstreamPath,
      method: ctx.method,
      headers: ctx.upstreamHeaders,
      body: this.#hasBody ? (ctx.req as IncomingMessage) : null,
      headersTimeout: timeouts?.headersMs ?? DEFAULTS.upstreamHeadersTimeoutMs,
      bodyTimeout: timeouts?.bodyMs ?? DEFAULTS.upstreamBodyTimeoutMs,
      idempotent: false,
    }
    // The raw client takes bodyless requests it can write verbatim; undici sends the rest.
    if (server.fast?.dispatch(opts, this) === true) return
    server.dispatcher.dispatch(opts, this)
  }

  /** The client's response closed (see start()): cancel this attempt unless it is over. */
  clientClosed(): void {
    if (!this.#finished) this.#controller?.abort(Object.assign(new Error('client closed the connection'), { code: 'UND_ERR_ABORTED' }))
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#ctx.clientClosed || this.#ctx.res.destroyed || (this.#ctx.res.writableEnded && !this.#finished)) controller.abort(Object.assign(new Error('client gone'), { code: 'UND_ERR_ABORTED' }))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return
    this.#responded = true
    const ctx = this.#ctx
    const server = this.#server
    if (!validUpstreamStatus(statusCode)) {
      // 600-999 parse as a status line but mean nothing: a 502 of ours, and no health verdict either
      // way (a 999 must not eject a server, nor clear its 5xx streak).
      this.#discard = true
      ctx.log.upstream_status = statusCode
      this.#deps.metrics.upstreamError(this.#pool.name, server.id, 'status')
      upstreamFailed(this.#deps, ctx, new Error(`upstream status ${statusCode}`), 502, ProxyErrorCodes.UPSTREAM_STATUS, `upstream answered with status ${statusCode}, outside 100-599`)
      return
    }
    const headerSeconds = Number(process.hrtime.bigint() - this.#startNs) / 1e9
    server.onResponse(statusCode)
    server.observeLatency(headerSeconds * 1000)
    this.#deps.metrics.upstream(this.#pool.name, server.id, statusCode, headerSeconds)
    ctx.log.upstream_status = statusCode
    ctx.log.upstream_time = Math.round(headerSeconds * 1e6) / 1e6
    const out = downstreamResponseHeaders(headers)
    applyHeaderEdits(out as Record<string, string | string[] | number | undefined>, ctx.route?.responseHeaders)
    const idHeader = ctx.gen.config.headers.requestId
    if (idHeader !== false && out[idHeader] === undefined) out[idHeader] = ctx.id
    if (ctx.stickySet !== undefined && this.#pool.config.sticky !== undefined) {
      const cookie = stickyCookie(this.#pool.config.sticky, ctx.stickySet)
      const prev = out['set-cookie']
      out['set-cookie'] = prev === undefined ? cookie : Array.isArray(prev) ? [...prev, cookie] : [String(prev), cookie]
    }
    const hooks = ctx.gen.onResponse
    if (hooks.length === 0) {
      this.#writeHead(statusCode, statusMessage, out)
      return
    }
    const response: UpstreamResponse = { statusCode, headers: out, server: server.id }
    controller.pause()
    void this.#runResponseHooks(hooks, response, statusMessage)
  }

  async #runResponseHooks(hooks: readonly ProxyHooks[], response: UpstreamResponse, statusMessage: string | undefined): Promise<void> {
    const ctx = this.#ctx
    try {
      for (const h of hooks) {
        const r = await h.onResponse?.(ctx, response)
        if (r === HANDLED) {
          this.#discard = true
          ctx.done = true
          break
        }
        if (r !== undefined && typeof r === 'object') this.#observer = r
      }
    } catch (err) {
      this.#discard = true
      hookFailed(this.#deps, ctx, err)
    }
    if (!this.#discard) this.#writeHead(response.statusCode, statusMessage, response.headers)
    if (!this.#finished) this.#controller?.resume()
  }

  #writeHead(status: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    const res = this.#ctx.res as ServerResponse
    if (res.headersSent || res.destroyed) return
    if (statusMessage !== undefined && statusMessage !== '' && this.#ctx.req.httpVersionMajor < 2) res.writeHead(status, statusMessage, headers)
    else res.writeHead(status, headers)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discard) return
    this.#observer?.onData(chunk)
    const res = this.#ctx.res as ServerResponse
    this.#ctx.bytesSent += chunk.length
    if (!res.write(chunk)) {
      controller.pause()
      res.once('drain', () => controller.resume())
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.#finish()
    this.#observer?.onEnd(trailers)
    if (this.#discard) return
    const res = this.#ctx.res as ServerResponse
    for (const _ in trailers) {
      res.addTrailers(trailers as OutgoingHttpHeaders)
      break
    }
    res.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finish()
    const ctx = this.#ctx
    const kind = classify(err as Error & { code?: string })
    if (ctx.clientClosed || ctx.res.destroyed || (ctx.res.writableEnded && this.#discard)) {
      // The client went away first; nothing to answer.
      this.#observer?.onAbort(err)
      return
    }
    const server = this.#server
    this.#deps.metrics.upstreamError(this.#pool.name, server.id, kind)
    if (this.#responded) {
      this.#observer?.onAbort(err)
      ctx.log.error = kind === ErrorKind.TIMEOUT ? ProxyErrorCodes.UPSTREAM_TIMEOUT : ProxyErrorCodes.UPSTREAM_RESET
      // Mid-body failure: the only honest signal left is to cut the client connection.
      ;(ctx.res as ServerResponse).destroy()
      return
    }
    if (kind === ErrorKind.CONNECT || kind === ErrorKind.RESET) server.onConnectError()
    else if (kind === ErrorKind.TIMEOUT) server.onResponse(504)
    const retries = ctx.route?.retry?.attempts ?? this.#pool.config.retry.attempts
    const skip = new Set(this.#skip)
    skip.add(server)
    // A retry needs another server to go to: without one the answer is this failure (502), not a
    // self-made "no healthy server" 503 for a pool whose only server is up.
    const elsewhere = this.#pool.servers.some((s) => !skip.has(s) && s.available)
    if ((kind === ErrorKind.CONNECT || kind === ErrorKind.RESET) && elsewhere && !this.#hasBody && IDEMPOTENT_METHODS.has(ctx.method) && this.#attempt < retries && this.#pool.retryBudget.tryRetry()) {
      forward(this.#deps, ctx, skip, this.#attempt + 1)
      return
    }
    this.#deps.logger.debug({ err, request_id: ctx.id, server: server.id }, 'upstream request failed')
    if (kind === ErrorKind.TIMEOUT) upstreamFailed(this.#deps, ctx, err, 504, ProxyErrorCodes.UPSTREAM_TIMEOUT, 'upstream timed out')
    else if (kind === ErrorKind.CONNECT) upstreamFailed(this.#deps, ctx, err, 502, ProxyErrorCodes.UPSTREAM_CONNECT, 'cannot connect to upstream')
    else if (kind === ErrorKind.RESET) upstreamFailed(this.#deps, ctx, err, 502, ProxyErrorCodes.UPSTREAM_RESET, 'upstream closed the connection')
    else upstreamFailed(this.#deps, ctx, err, 502, ProxyErrorCodes.UPSTREAM_PROTOCOL, 'bad response from upstream')
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#server.active--
    if (this.#ctx.exchange === this) this.#ctx.exchange = undefined
  }
}

/** Picks a server and starts one attempt; also called from undici callbacks (retries), hence guarded. */
export function forward(deps: CoreDeps, ctx: RequestContext, skip: Set<UpstreamServer> | undefined, attempt: number): void {
  guarded(deps, ctx, forwardAttempt, skip, attempt)
}

function forwardAttempt(deps: CoreDeps, ctx: RequestContext, skip: Set<UpstreamServer> | undefined, attempt: number): void {
  if (ctx.clientClosed || ctx.res.writableEnded || ctx.res.destroyed) return
  const pool = ctx.gen.pools.get(ctx.poolName) as UpstreamPool
  if (attempt === 0) pool.retryBudget.onRequest()
  const change = pool.refreshPanic()
  if (change !== 0) deps.logger.warn({ pool: pool.name, panic: change > 0, up: pool.availableCount(), servers: pool.servers.length }, change > 0 ? 'pool in panic: balancing over every non-drained server' : 'pool left panic')
  if (pool.panic) deps.metrics.poolPanic(pool.name)
  const { server, circuitOpen } = pickServer(pool, ctx, skip)
  if (server === undefined) {
    const code = circuitOpen ? ProxyErrorCodes.CIRCUIT_OPEN : ProxyErrorCodes.NO_HEALTHY_SERVER
    const msg = circuitOpen ? `every server of pool "${pool.name}" is at its connection limit` : `no healthy server in pool "${pool.name}"`
    upstreamFailed(deps, ctx, new Error(msg), 503, code, msg)
    return
  }
  if (ctx.upgrade !== undefined) {
    forwardUpgrade(deps, ctx, ctx.upgrade, pool, server)
    return
  }
  const exchange = new Exchange(deps, ctx, pool, server, skip, attempt)
  exchange.start()
}
