// The cache plugin: RFC 9111 shared caching on the proxy's hooks. onRoute answers hits (and
// stale-while-revalidate, max-stale) directly, turns stale entries into conditional upstream
// requests, and collapses concurrent misses; onResponse stores (body tee), merges 304s, serves
// stale-if-error and invalidates after unsafe methods. X-Cache: HIT|MISS|STALE|BYPASS, Age.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { Registry } from '../../internal/metrics.js'
import { TrustedProxies } from '../forwarding-headers.js'
import { oneLabelCounter, type OneLabelCounter } from '../metric-cells.js'
import { HANDLED, type BodyObserver, type HookResult, type ProxyHooks, type ProxyPlugin, type ProxyRequestContext } from '../plugin-api.js'
import { parseCacheControl, SURROGATE_TARGET } from './cache-control.js'
import { flatHeaders, HttpCache, isUnsafeMethod, NO_DIRECTIVES, type CacheRequest, type Lookup } from './http-cache.js'
import { resolveCacheOptions, routeCacheEnabled, routeCacheSettings, type CacheConfig, type RouteCacheSettings, type SetCookiePolicy } from './options.js'
import { adminTargets, registerAdmin } from './admin.js'
import { send, sendPlainHit } from './respond.js'
import { answerFromCache } from './serve.js'
import { CacheStore, type CacheEntry, type StoredHeaders } from './store.js'

const STATE = Symbol('cache-state')
const LOCAL = Symbol('cache-request')

type Mode = 'unsafe' | 'bypass' | 'validate' | 'miss' | 'pass'

interface RequestState {
  mode: Mode
  creq: CacheRequest
  lookup?: Lookup
  done?: () => void
  requestTime: number
  noStore: boolean
  settings: RouteCacheSettings
  /** Surrogate-Capability was added to the upstream headers (see announceOnce). */
  announced?: boolean
}

interface Shared {
  key: string
  cache: HttpCache
  results: OneLabelCounter
}

type CacheHooks = ProxyHooks & { [STATE]: Shared }

const CONDITIONAL = ['if-none-match', 'if-modified-since', 'if-range', 'range', 'if-match', 'if-unmodified-since']

function counter(registry: Registry): OneLabelCounter {
  return oneLabelCounter(registry, 'switchyard_proxy_cache_requests_total', 'Cache lookups by result (HIT, MISS, STALE, BYPASS, REVALIDATED)', 'result')
}


export const cachePlugin: ProxyPlugin = {
  name: 'cache',
  fastPathSafe: true,
  create(pctx) {
    const cfg = pctx.config
    const cacheCfg = cfg.cache as CacheConfig | undefined
    const opts = resolveCacheOptions(cacheCfg ?? {})
    const enabledRoutes = new Map<unknown, RouteCacheSettings>()
    for (const r of cfg.routes) if (routeCacheEnabled(r.cache, opts.allRoutes)) enabledRoutes.set(r, routeCacheSettings(r.cache))
    if (cacheCfg === undefined && enabledRoutes.size === 0) return undefined
    // The proxy's own cookies (sticky) pin one client to one server: never stored, whatever a route says.
    const proxyCookies = new Set<string>()
    for (const p of Object.values(cfg.pools)) if (p.sticky !== undefined) proxyCookies.add(p.sticky.cookie)
    const requestIdHeader = cfg.headers.requestId === false ? undefined : cfg.headers.requestId.toLowerCase()

    const previous = pctx.previous as CacheHooks | undefined
    const storeKey = JSON.stringify([opts.maxMemoryBytes, opts.maxObjectBytes, opts.diskDir, opts.maxDiskBytes])
    const shared: Shared =
      previous?.[STATE] !== undefined && previous[STATE].key === storeKey
        ? previous[STATE]
        : {
            key: storeKey,
            cache: new HttpCache({
              store: new CacheStore({ maxMemoryBytes: opts.maxMemoryBytes, ...(opts.diskDir === undefined ? {} : { diskDir: opts.diskDir, maxDiskBytes: opts.maxDiskBytes }) }),
              maxObjectBytes: opts.maxObjectBytes,
            }),
            results: counter(pctx.registry),
          }
    const cache = shared.cache

    if (pctx.admin !== undefined) {
      const target = adminTargets.get(pctx.admin)
      if (target === undefined) {
        const t = { cache }
        adminTargets.set(pctx.admin, t)
        registerAdmin(pctx.admin, () => t.cache)
      } else target.cache = cache
    }

    // What is keyed is what is forwarded: the authority with its port (Host and X-Forwarded-Host
    // carry it to the origin), the path, and (as the scope) the route and pool.
    const keyOf = (ctx: ProxyRequestContext): string => {
      const h = ctx.req.headers
      const authority = ctx.authority !== '' ? ctx.authority : ((h[':authority'] as string | undefined) ?? h.host ?? ctx.host)
      return `${ctx.tls ? 'https' : 'http'}://${authority.toLowerCase()}${ctx.path}`
    }
    // Behind a trusted proxy the client's X-Forwarded-Host / -Proto reach the origin as sent
    // (forwarding-headers.ts), so they are keyed too; from anyone else they are overwritten.
    const trusted = cfg.headers.xForwarded && cfg.headers.trustedProxies.length > 0 ? new TrustedProxies(cfg.headers.trustedProxies) : undefined
    const scopeOf = (ctx: ProxyRequestContext): string => {
      const scope = `${ctx.routeName} ${ctx.poolName}`
      if (trusted === undefined || !trusted.has(ctx.peerIp)) return scope
      const h = ctx.req.headers
      const xfh = h['x-forwarded-host']
      const xfp = h['x-forwarded-proto']
      if (xfh === undefined && xfp === undefined) return scope
      return `${scope} ${JSON.stringify([xfh ?? null, xfp ?? null])}`
    }

    /** `cookies`: Set-Cookie values for this client only (a 304 that revalidated its request). */
    const hit = (ctx: ProxyRequestContext, l: Lookup, xCache: 'HIT' | 'STALE', logAs?: string, cookies?: string[]): typeof HANDLED => {
      shared.results.inc(logAs ?? xCache)
      if (logAs !== undefined) ctx.log.cache = logAs
      const rh = ctx.req.headers
      if (rh['if-none-match'] === undefined && rh['if-modified-since'] === undefined && rh['range'] === undefined) return sendPlainHit(ctx, l, xCache, cookies)
      const a = answerFromCache(ctx.method, rh, l.entry.status, cache.responseHeaders(l), l.entry.body)
      if (cookies !== undefined) a.headers['set-cookie'] = cookies
      return send(ctx, a.status, a.headers, a.body, xCache, l.entry.body.length)
    }

    const backgroundRevalidate = (ctx: ProxyRequestContext, l: Lookup, creq: CacheRequest, settings: RouteCacheSettings): void => {
      const c = cache.collapse(`reval:${HttpCache.variantId(l.entry)}`, opts.lockTimeoutMs)
      if (!c.leader) return
      announceOnce(ctx)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(ctx.upstreamHeaders)) if (!CONDITIONAL.includes(k.toLowerCase())) headers[k] = Array.isArray(v) ? v.join(', ') : v
      Object.assign(headers, cache.validationHeaders(l.entry))
      const requestTime = Date.now()
      ctx
        .fetchUpstream({ method: 'GET', headers })
        .then((r) => {
          const responseTime = Date.now()
          if (r.statusCode === 304) cache.freshen(l.entry, stripForStore(r.headers, settings.setCookie === 'store' ? 'store' : 'strip'), requestTime, responseTime)
          else {
            const rh = stripForStore(r.headers, settings.setCookie)
            const s = cache.storability(creq, r.statusCode, rh, settings.setCookie === 'store')
            if (s.ok && r.body.length <= cache.maxObjectBytes) cache.put(creq, r.statusCode, rh, r.body, s.vary, requestTime, responseTime)
          }
        })
        .catch(() => {})
        .finally(() => c.done())
    }

    /**
     * The headers to store: without the request id, the proxy's own cookies, and (policy `strip`)
     * the origin's Set-Cookie. Under `bypass` an origin cookie stays, so storability refuses it.
     */
    const stripForStore = (h: IncomingHttpHeaders | OutgoingHttpHeaders, policy: SetCookiePolicy): OutgoingHttpHeaders => {
      const out: OutgoingHttpHeaders = { ...h }
      if (requestIdHeader !== undefined) delete out[requestIdHeader]
      const sc = out['set-cookie']
      if (sc !== undefined) {
        const kept = policy === 'strip' ? [] : (Array.isArray(sc) ? sc : [String(sc)]).filter((c) => !proxyCookies.has(cookieName(c)))
        if (kept.length === 0) delete out['set-cookie']
        else out['set-cookie'] = kept
      }
      return out
    }

    const lookupAndServe = (ctx: ProxyRequestContext, creq: CacheRequest, entry: CacheEntry | undefined, reqCc: ReadonlyMap<string, string | true>): HookResult => {
      if (entry === undefined) {
        if (reqCc.has('only-if-cached')) return send(ctx, 504, { 'content-type': 'text/plain' }, Buffer.from('504 not in cache\n'), 'MISS', 0)
        return undefined
      }
      const l = cache.evaluate(entry, creq)
      switch (l.state) {
        case 'fresh':
          return hit(ctx, l, 'HIT')
        case 'stale-allowed':
          return hit(ctx, l, 'STALE')
        case 'stale-while-revalidate':
          backgroundRevalidate(ctx, l, creq, (ctx.locals.get(LOCAL) as RequestState).settings)
          return hit(ctx, l, 'STALE')
        default: {
          if (reqCc.has('only-if-cached')) return send(ctx, 504, { 'content-type': 'text/plain' }, Buffer.from('504 not in cache\n'), 'MISS', 0)
          const st = ctx.locals.get(LOCAL) as RequestState
          st.mode = 'validate'
          st.lookup = l
          const uh = ctx.upstreamHeaders as Record<string, string | string[]>
          for (const k of CONDITIONAL) delete uh[k]
          Object.assign(uh, cache.validationHeaders(l.entry))
          return undefined
        }
      }
    }

    /** onRoute's work; the hook adds Surrogate-Capability only when the request goes upstream. */
    const route = (ctx: ProxyRequestContext): HookResult | Promise<HookResult> => {
      const settings = ctx.route === undefined ? undefined : enabledRoutes.get(ctx.route)
      if (settings === undefined) return undefined
      const creq: CacheRequest = { method: ctx.method, key: keyOf(ctx), scope: scopeOf(ctx), headers: ctx.req.headers }
      const cc = ctx.req.headers['cache-control']
      const reqCc = cc === undefined ? NO_DIRECTIVES : parseCacheControl(cc)
      const st: RequestState = { mode: 'pass', creq, requestTime: Date.now(), noStore: reqCc.has('no-store'), settings }
      ctx.locals.set(LOCAL, st)
      // An Upgrade request is a tunnel to the origin: never answered from (or stored in) the cache.
      if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.req.headers.upgrade !== undefined) {
        st.mode = isUnsafeMethod(ctx.method) ? 'unsafe' : 'bypass'
        ctx.log.cache = 'BYPASS'
        shared.results.inc('BYPASS')
        return undefined
      }
      const mem = cache.findInMemory(creq)
      if (mem !== undefined) {
        const r = lookupAndServe(ctx, creq, mem, reqCc)
        return r
      }
      return (async (): Promise<HookResult> => {
        let entry = await cache.find(creq)
        if (entry === undefined && ctx.method === 'GET' && ctx.req.headers['range'] === undefined) {
          const c = cache.collapse(`${creq.scope}\n${creq.key}`, opts.lockTimeoutMs)
          if (!c.leader) {
            await c.wait
            entry = await cache.find(creq)
            if (entry === undefined) {
              // The leader's response was not storable: go upstream too, and lead the next wave.
              const again = cache.collapse(`${creq.scope}\n${creq.key}`, opts.lockTimeoutMs)
              if (again.leader) st.done = again.done
            }
          } else st.done = c.done
          if (st.done !== undefined) ctx.res.once('close', st.done)
        }
        if (entry === undefined) st.mode = ctx.method === 'GET' && ctx.req.headers['range'] === undefined ? 'miss' : 'pass'
        const r = lookupAndServe(ctx, creq, entry, reqCc)
        if (r === HANDLED) st.done?.()
        return r
      })()
    }

    /**
     * Surrogate-Capability on the upstream headers, once per request and only when they are used
     * (going upstream, or a background revalidation): a hit never builds the upstream headers.
     */
    const announceOnce = (ctx: ProxyRequestContext): void => {
      const st = ctx.locals.get(LOCAL) as RequestState | undefined
      if (st === undefined || st.announced === true) return
      st.announced = true
      announceSurrogate(ctx.upstreamHeaders as Record<string, string | string[] | undefined>)
    }

    const hooks: CacheHooks = {
      [STATE]: shared,
      onRoute(ctx): HookResult | Promise<HookResult> {
        const r = route(ctx)
        if (r === HANDLED) return r
        if (r !== undefined && typeof (r as Promise<HookResult>).then === 'function') {
          return (r as Promise<HookResult>).then((v) => {
            if (v !== HANDLED) announceOnce(ctx)
            return v
          })
        }
        announceOnce(ctx)
        return r
      },
      async onResponse(ctx, response) {
        const st = ctx.locals.get(LOCAL) as RequestState | undefined
        if (st === undefined) return undefined
        const status = response.statusCode
        // Surrogate-Control is addressed to this cache; the stored copy keeps it, the client never sees it.
        const surrogate = response.headers['surrogate-control']
        if (surrogate !== undefined) delete response.headers['surrogate-control']
        const upstreamHeaders: OutgoingHttpHeaders = surrogate === undefined ? response.headers : { ...response.headers, 'surrogate-control': surrogate }
        if (st.mode === 'unsafe' || st.mode === 'bypass') {
          if (st.mode === 'unsafe' && status < 400) cache.invalidate(st.creq.key, response.headers)
          response.headers['x-cache'] = 'BYPASS'
          return undefined
        }
        if (st.mode === 'validate' && st.lookup !== undefined) {
          const l = st.lookup
          if (status === 304) {
            const updated = cache.freshen(l.entry, stripForStore(upstreamHeaders, st.settings.setCookie === 'store' ? 'store' : 'strip'), st.requestTime, Date.now())
            if (updated !== undefined) {
              shared.results.inc('REVALIDATED')
              return hit(ctx, cache.evaluate(updated, st.creq), 'HIT', 'REVALIDATED', ownCookies(response.headers, updated.headers))
            }
            // The 304 matched no stored validator: fetch the full response unconditionally.
            const headers: Record<string, string> = {}
            for (const [k, v] of Object.entries(ctx.upstreamHeaders)) if (!CONDITIONAL.includes(k.toLowerCase())) headers[k] = Array.isArray(v) ? v.join(', ') : v
            const r = await ctx.fetchUpstream({ method: 'GET', headers })
            const rh = stripForStore(r.headers, st.settings.setCookie)
            const s = cache.storability(st.creq, r.statusCode, rh, st.settings.setCookie === 'store')
            if (s.ok && !st.noStore) cache.put(st.creq, r.statusCode, rh, r.body, s.vary, st.requestTime, Date.now())
            shared.results.inc('MISS')
            return send(ctx, r.statusCode, stripHop(r.headers), r.body, 'MISS', r.body.length)
          }
          if (status >= 500 && cache.staleIfErrorAllows(cache.evaluate(l.entry, st.creq), st.creq)) {
            return hit(ctx, cache.evaluate(l.entry, st.creq), 'STALE')
          }
          st.mode = 'miss'
        }
        if (st.mode === 'pass') {
          // Looked up and missed, but not storable as asked (HEAD, Range): forwarded untouched.
          shared.results.inc('MISS')
          response.headers['x-cache'] = 'MISS'
          ctx.log.cache = 'MISS'
          return undefined
        }
        if (st.mode !== 'miss') return undefined
        shared.results.inc('MISS')
        response.headers['x-cache'] = 'MISS'
        ctx.log.cache = 'MISS'
        const headers = stripForStore(upstreamHeaders, st.settings.setCookie)
        const s = cache.storability(st.creq, status, headers, st.settings.setCookie === 'store')
        if (!s.ok || st.noStore) {
          st.done?.()
          return undefined
        }
        const responseTime = Date.now()
        const chunks: Buffer[] = []
        let size = 0
        const observer: BodyObserver = {
          onData(chunk) {
            if (size < 0) return
            size += chunk.length
            if (size > cache.maxObjectBytes) {
              size = -1
              chunks.length = 0
              st.done?.()
              return
            }
            chunks.push(chunk)
          },
          onEnd() {
            if (size >= 0) cache.put(st.creq, status, headers, Buffer.concat(chunks, size), s.vary, st.requestTime, responseTime)
            st.done?.()
          },
          onAbort() {
            st.done?.()
          },
        }
        return observer
      },
      onUpstreamError(ctx) {
        const st = ctx.locals.get(LOCAL) as RequestState | undefined
        if (st === undefined) return undefined
        st.done?.()
        if (st.mode === 'validate' && st.lookup !== undefined) {
          // No answer from any origin server: the cache is disconnected (RFC 9111 §4.2.4).
          const l = cache.evaluate(st.lookup.entry, st.creq)
          if (cache.staleIfErrorAllows(l, st.creq, opts.staleIfUnreachableSec)) return hit(ctx, l, 'STALE')
        }
        return undefined
      },
      onLog(ctx, record) {
        const st = ctx.locals.get(LOCAL) as RequestState | undefined
        if (st === undefined) return
        st.done?.()
        // Answers the cache did not write nor see (an upstream error, a client gone while waiting
        // for a collapsed miss) still get a verdict: what the cache decided for the request.
        if (record.cache === undefined) {
          record.cache = st.mode === 'unsafe' || st.mode === 'bypass' ? 'BYPASS' : 'MISS'
          shared.results.inc(record.cache)
        }
      },
    }
    return hooks
  },
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=')
  return (eq < 0 ? setCookie : setCookie.slice(0, eq)).trim()
}

/** The Set-Cookie values of a 304 that were not stored: they go to the revalidating client only. */
function ownCookies(response: OutgoingHttpHeaders, stored: StoredHeaders): string[] | undefined {
  const sc = response['set-cookie']
  if (sc === undefined) return undefined
  const kept = stored['set-cookie']
  const keptList = kept === undefined ? [] : Array.isArray(kept) ? kept : [kept]
  const own = (Array.isArray(sc) ? sc : [String(sc)]).filter((c) => !keptList.includes(c))
  return own.length === 0 ? undefined : own
}

/** This cache's Surrogate-Capability entry: its device token (what `;switchyard` targets) and what it understands. */
const CAPABILITY = `${SURROGATE_TARGET}="Surrogate/1.0"`

/**
 * Edge Architecture Specification §2.2: a surrogate appends its device token and capabilities to
 * `Surrogate-Capability` on the requests it forwards, so an origin can target Surrogate-Control
 * directives at it (`max-age=60;switchyard`).
 */
function announceSurrogate(uh: Record<string, string | string[] | undefined>): void {
  const prev = uh['surrogate-capability']
  uh['surrogate-capability'] = prev === undefined ? CAPABILITY : `${Array.isArray(prev) ? prev.join(', ') : prev}, ${CAPABILITY}`
}

const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'te', 'trailer', 'upgrade', 'surrogate-control'])

/** A side fetch's response headers as the client may see them: no hop-by-hop, Connection-listed or Surrogate-Control fields. */
function stripHop(h: IncomingHttpHeaders): StoredHeaders {
  const listed = h['connection'] === undefined ? [] : String(h['connection']).split(',').map((t) => t.trim().toLowerCase())
  const out: StoredHeaders = {}
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || NOT_FORWARDED.has(k) || listed.includes(k)) continue
    out[k] = v
  }
  return out
}


export { flatHeaders }
