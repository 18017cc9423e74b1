// The protection plugin: wires limits, ACLs and request validation into the proxy core's hooks.
// Order inside a request: listener ACL and connection limits at accept; request validation, path
// normalisation and the global ACL before routing; route ACL, in-flight cap and rate limits after
// the route matched. Every refusal is a short direct answer, logged in the `limit` field.
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Socket } from 'node:net'
import { Counter, type Registry } from '../../internal/metrics.js'
import { HANDLED, respond, type HookResult, type ProxyHooks, type ProxyPlugin, type ProxyRequestContext } from '../plugin-api.js'
import { createClientErrorHandler } from './client-error.js'
import { ConnectionLimiter, InflightLimiter } from './concurrency.js'
import { IpAccessList } from './client-ip.js'
import { ProtectErrorCodes } from './errors.js'
import { resolveLimits, resolveRateRules, type LimitsConfig, type ResolvedLimits, type RouteLimitsConfig } from './options.js'
import { RateLimiter, type RateLimitRule, type RateLimitVerdict } from './rate-limiter.js'
import { RedisRateStore } from './redis-store.js'
import { checkRequest, isRejection } from './request-check.js'
import { MemoryRateStore, type RateStore } from './token-bucket.js'
import { guardUpload } from './upload-guard.js'

const STATE = Symbol('protect-state')
/** Connections on which a request was refused as malformed; later requests on them are dropped. */
const poisoned = new WeakSet<Socket>()
const RELEASE = Symbol('protect-release')

interface SharedState {
  storeKey: string
  store: RateStore
  inflight: InflightLimiter
  connections: Map<string, ConnectionLimiter>
  rejections: Counter<'reason'>
}

type ProtectHooks = ProxyHooks & { [STATE]: SharedState }

function counter(registry: Registry): Counter<'reason'> {
  const name = 'switchyard_proxy_limit_rejections_total'
  return (registry.getSingleMetric(name) as Counter<'reason'> | undefined) ?? new Counter({ name, help: 'Requests and connections refused by the protection layer, by reason', labelNames: ['reason'], registers: [registry] })
}

function makeStore(limits: ResolvedLimits, onState: (healthy: boolean) => void): RateStore {
  const s = limits.rateStore
  if (s.type === 'redis') {
    return new RedisRateStore({
      url: s.url,
      onFailure: s.onFailure,
      onStateChange: onState,
      ...(s.keyPrefix === undefined ? {} : { keyPrefix: s.keyPrefix }),
      ...(s.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: s.commandTimeoutMs }),
    })
  }
  return new MemoryRateStore()
}

type AclLike = { allow?: readonly string[]; deny?: readonly string[] } | undefined

function acl(a: AclLike): IpAccessList | undefined {
  if (a === undefined) return undefined
  const list = new IpAccessList({ ...(a.allow === undefined ? {} : { allow: a.allow }), ...(a.deny === undefined ? {} : { deny: a.deny }) })
  return list.empty ? undefined : list
}

export const protectPlugin: ProxyPlugin = {
  name: 'protect',
  fastPathSafe: true,
  create(pctx) {
    const cfg = pctx.config
    const limits = resolveLimits((cfg.limits ?? {}) as LimitsConfig)
    const perListener = new Map<string, ResolvedLimits>()
    const listenerAcl = new Map<string, IpAccessList | undefined>()
    cfg.listeners.forEach((l) => {
      const name = l.name ?? `${l.protocol}:${l.port}`
      perListener.set(name, resolveLimits((cfg.limits ?? {}) as LimitsConfig, (l.limits ?? {}) as LimitsConfig))
      listenerAcl.set(name, acl(l.acl as AclLike))
    })
    const globalAcl = acl(cfg.acl as AclLike)
    const routeAcl = new Map<unknown, IpAccessList | undefined>()
    const routeRules = new Map<unknown, { limiter: RateLimiter | undefined; maxInflight: number }>()

    const previous = pctx.previous as ProtectHooks | undefined
    const storeKey = JSON.stringify(limits.rateStore)
    let state: SharedState
    if (previous?.[STATE] !== undefined && previous[STATE].storeKey === storeKey) {
      state = previous[STATE]
    } else {
      state = {
        storeKey,
        store: makeStore(limits, (healthy) => pctx.logger.warn({ healthy, policy: limits.rateStore.type === 'redis' ? limits.rateStore.onFailure : 'n/a' }, healthy ? 'rate-limit store recovered' : 'rate-limit store failing')),
        inflight: previous?.[STATE]?.inflight ?? new InflightLimiter(),
        connections: previous?.[STATE]?.connections ?? new Map(),
        rejections: counter(pctx.registry),
      }
    }
    const ownsStore = state !== previous?.[STATE]
    const globalRules: RateLimitRule[] = [...limits.rate]
    cfg.routes.forEach((r, i) => {
      const rl = (r.limits ?? undefined) as RouteLimitsConfig | undefined
      const rules = [...globalRules, ...resolveRateRules(rl?.rate, `route${i}:`)]
      routeRules.set(r, {
        limiter: rules.length === 0 ? undefined : new RateLimiter(rules, state.store),
        maxInflight: rl?.maxInflight ?? limits.maxInflightPerRoute,
      })
      routeAcl.set(r, acl(r.acl as AclLike))
    })
    const globalLimiter = globalRules.length === 0 ? undefined : new RateLimiter(globalRules, state.store)

    const refuse = (ctx: ProxyRequestContext, status: number, reason: string, verdict: string, headers: Record<string, string> = {}, close = false): typeof HANDLED => {
      state.rejections.inc({ reason })
      ctx.log.limit = verdict
      ctx.log.limit_reason = reason
      const h: Record<string, string> = { ...headers }
      if (close) h['connection'] = 'close'
      return respond(ctx, status, `${status} ${reason}\n`, h)
    }

    // Per generation, not per request: the end of onRoute once the route's rate rules passed.
    const admitInflight = (ctx: ProxyRequestContext, maxInflight: number): HookResult => {
      if (maxInflight > 0) {
        const release = state.inflight.tryAcquire(ctx.routeName, maxInflight)
        if (release === undefined) return refuse(ctx, 503, 'route_inflight', 'overloaded', { 'retry-after': '1' })
        ctx.locals.set(RELEASE, release)
        ctx.res.once('close', release)
      }
      ctx.log.limit ??= 'allowed'
      return undefined
    }
    const applyVerdict = (ctx: ProxyRequestContext, v: RateLimitVerdict | undefined, maxInflight: number): HookResult => {
      if (v !== undefined) {
        if (!v.allowed) return refuse(ctx, 429, 'rate', 'limited', v.headers)
        if (!ctx.res.headersSent) {
          const h = v.headers
          for (const k in h) ctx.res.setHeader(k, h[k] as string)
        }
        if (v.degraded) ctx.log.limit = 'allowed-degraded'
      }
      return admitInflight(ctx, maxInflight)
    }

    const hooks: ProtectHooks = {
      [STATE]: state,
      configureServer(server, listener) {
        const name = listener.name ?? `${listener.protocol}:${listener.port}`
        const l = perListener.get(name) ?? limits
        const s = server as HttpServer & { insecureHTTPParser: boolean; requireHostHeader: boolean; maxHeaderSize: number; connectionsCheckingInterval: number }
        // Never the lenient parser, whatever else configured the server.
        s.insecureHTTPParser = false
        // checkRequest refuses a missing Host itself: node's own 400 would leave requests pipelined
        // behind it in flight (their responses never get the socket).
        s.requireHostHeader = false
        s.maxHeaderSize = l.maxHeaderBytes
        // One more than allowed so checkRequest sees the excess and answers 431 (node truncates silently).
        s.maxHeadersCount = l.maxHeaders + 1
        s.maxRequestsPerSocket = l.maxRequestsPerConnection
        if (l.explicit.includes('headersTimeoutMs')) s.headersTimeout = l.headersTimeoutMs
        if (l.explicit.includes('requestTimeoutMs')) s.requestTimeout = l.requestTimeoutMs
        if (l.explicit.includes('keepAliveTimeoutMs')) s.keepAliveTimeout = l.keepAliveTimeoutMs
        // node checks header/request deadlines on this interval (default 30 s, far too coarse).
        s.connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(s.headersTimeout / 5)))
        s.removeAllListeners('clientError')
        s.on(
          'clientError',
          createClientErrorHandler((info, socket) => {
            poisoned.add(socket)
            state.rejections.inc({ reason: info.status === 408 ? 'headers_timeout' : `parse_${info.status}` })
          }),
        )
      },
      onConnection(conn) {
        const a = listenerAcl.get(conn.listener) ?? globalAcl
        if (a !== undefined && !a.permits(conn.remoteAddress)) {
          state.rejections.inc({ reason: 'acl_connection' })
          return false
        }
        const l = perListener.get(conn.listener) ?? limits
        if (l.maxConnections === 0 && l.maxConnectionsPerIp === 0) return true
        let cl = state.connections.get(conn.listener)
        if (cl === undefined) {
          cl = new ConnectionLimiter(l.maxConnectionsPerIp, l.maxConnections)
          state.connections.set(conn.listener, cl)
        }
        const limiter = cl
        if (!limiter.tryAcquire(conn.remoteAddress)) {
          state.rejections.inc({ reason: 'connections' })
          return false
        }
        ;(conn.socket as Socket).once('close', () => limiter.release(conn.remoteAddress))
        return true
      },
      onRequest(ctx) {
        const l = perListener.get(ctx.listener) ?? limits
        const req = ctx.req as IncomingMessage
        const socket = req.socket as Socket | null
        // A request pipelined behind a refused one on the same connection is never forwarded: the
        // connection closes after the refusal, and what follows is not trusted to be framed right.
        if (socket !== null && poisoned.has(socket)) {
          // This response is queued behind the refusal and will never get the socket (it closes),
          // so node never emits its 'close'; emit it when the request goes, or the request would
          // count as in flight forever and block reload and shutdown.
          const res = ctx.res as import('node:http').ServerResponse
          req.once('close', () => {
            if (res.socket === null && !res.writableFinished) res.emit('close')
          })
          return refuse(ctx, 400, 'after_refusal', 'invalid', {}, true)
        }
        const verdict = checkRequest(req, { maxUrlBytes: l.maxUrlBytes, maxHeaders: l.maxHeaders, maxBodyBytes: l.maxBodyBytes, encodedSlashes: l.encodedSlashes })
        if (isRejection(verdict)) {
          if (socket !== null && req.httpVersionMajor === 1) poisoned.add(socket)
          return refuse(ctx, verdict.status, verdict.reason, 'invalid', {}, true)
        }
        ctx.path = verdict.url
        if (globalAcl !== undefined && !globalAcl.permits(ctx.clientIp)) return refuse(ctx, 403, 'acl', 'denied')
        if (req.httpVersionMajor === 1 && !req.complete) {
          // The body's framing is checked by llhttp as bytes arrive. Bytes that came in the same
          // packet as the head were parsed in this same tick, so one turn later a framing error
          // has surfaced (clientError) and the request is dropped before any upstream byte.
          const guard = () =>
            guardUpload(req, l, (v) => {
              state.rejections.inc({ reason: v.reason })
              ctx.log.limit = 'invalid'
              ctx.log.limit_reason = v.reason
              if (!ctx.res.headersSent) respond(ctx, v.status, `${v.status} ${v.reason}\n`, { connection: 'close' })
              setImmediate(() => socket?.destroy())
            })
          return new Promise<HookResult>((resolve) => {
            setImmediate(() => {
              if (req.destroyed || socket === null || socket.destroyed || !socket.readable || poisoned.has(socket)) {
                // Answered (or dropped) by the clientError handler; end our side so nothing waits on it.
                resolve(refuse(ctx, 400, 'bad_body_framing', 'invalid', {}, true))
                return
              }
              guard()
              resolve(undefined)
            })
          })
        }
        return undefined
      },
      onRoute(ctx): HookResult | Promise<HookResult> {
        const route = ctx.route
        const a = route === undefined ? undefined : routeAcl.get(route)
        if (a !== undefined && !a.permits(ctx.clientIp)) return refuse(ctx, 403, 'acl', 'denied')
        const rr = route === undefined ? undefined : routeRules.get(route)
        const limiter = rr === undefined ? globalLimiter : rr.limiter
        const maxInflight = rr?.maxInflight ?? limits.maxInflightPerRoute
        if (limiter === undefined) return admitInflight(ctx, maxInflight)
        const input = { clientIp: ctx.clientIp, routeId: ctx.routeName, headers: ctx.req.headers }
        // The memory store decides without I/O: no promise (and no microtask) per request.
        if (limiter.sync) return applyVerdict(ctx, limiter.checkSync(input), maxInflight)
        return limiter.check(input).then(
          (v) => applyVerdict(ctx, v, maxInflight),
          (err: unknown) => {
            if ((err as { code?: string }).code === ProtectErrorCodes.RATE_STORE_DOWN) return refuse(ctx, 503, 'rate_store_down', 'store-down', { 'retry-after': '1' })
            throw err
          },
        )
      },
      async close() {
        if (ownsStore && previous?.[STATE] !== undefined) {
          // nothing: the previous generation's store is closed by its own close()
        }
        // Close the store only when the next generation does not reuse it; reuse is decided in the
        // next create(), so a retired generation leaves the shared store to its successor.
        if (!retiredWithSuccessor.has(state)) await state.store.close()
      },
    }
    // The previous generation's close() runs after this create(): mark the state as handed over.
    if (previous?.[STATE] === state) retiredWithSuccessor.add(state)
    return hooks
  },
}

const retiredWithSuccessor = new WeakSet<SharedState>()
