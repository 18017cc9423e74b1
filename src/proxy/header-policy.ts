// Which client header names a hop may drop, per config generation and route: names listed in the
// client's `Connection` header are hop-by-hop (RFC 9110 7.6.1) except the end-to-end headers the
// proxy itself routes, balances, keys or forwards on; a client must not be able to make the origin
// see a request other than the one the proxy routed and cached (issue 22 item 7). nginx ignores
// Connection listings altogether; on a cached route we do the same, since a response's Vary may
// name any request header. Names with `_` are dropped unless `headers.underscoresInHeaders`
// (nginx's underscores_in_headers off): CGI/WSGI origins read X_Forwarded_For as X-Forwarded-For.
import type { ProxyConfig, RouteConfig } from './config.js'
import { routeCacheEnabled } from './cache/options.js'

export interface HeaderPolicy {
  /** Names a Connection listing never removes; undefined: ignore Connection listings entirely. */
  readonly keep: ReadonlySet<string> | undefined
  readonly underscores: boolean
}

/** Always end-to-end for this proxy: routing, framing, credentials, forwarding chain. */
const BASE_KEEP = ['host', 'content-length', 'content-type', 'content-encoding', 'cookie', 'authorization', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'via', 'x-request-id']

const byConfig = new WeakMap<ProxyConfig, { general: HeaderPolicy; byRoute: Map<RouteConfig, HeaderPolicy> }>()

function build(config: ProxyConfig): { general: HeaderPolicy; byRoute: Map<RouteConfig, HeaderPolicy> } {
  const keep = new Set(BASE_KEEP)
  if (config.headers.requestId !== false) keep.add(config.headers.requestId.toLowerCase())
  for (const r of config.routes) for (const n of Object.keys(r.match.headers ?? {})) keep.add(n.toLowerCase())
  for (const p of Object.values(config.pools)) {
    const b = typeof p.balance === 'string' ? undefined : p.balance.hashOn
    if (b?.source === 'header' && b.name !== undefined) keep.add(b.name.toLowerCase())
  }
  // Rate-limit rules keyed on a header (limits.rate[].header, routes[].limits.rate[].header).
  const rules = [config.limits?.rate, ...config.routes.map((r) => (r.limits as { rate?: unknown } | undefined)?.rate)]
  for (const list of rules) for (const rule of (list ?? []) as readonly { header?: string }[]) if (rule.header !== undefined) keep.add(rule.header.toLowerCase())
  const underscores = config.headers.underscoresInHeaders
  const general: HeaderPolicy = { keep, underscores }
  const cachedAll = (config.cache as { allRoutes?: boolean } | undefined)?.allRoutes === true
  const byRoute = new Map<RouteConfig, HeaderPolicy>()
  for (const r of config.routes) {
    const cached = routeCacheEnabled(r.cache, cachedAll)
    byRoute.set(r, cached ? { keep: undefined, underscores } : general)
  }
  return { general, byRoute }
}

export function headerPolicy(config: ProxyConfig, route: RouteConfig | undefined): HeaderPolicy {
  let p = byConfig.get(config)
  if (p === undefined) {
    p = build(config)
    byConfig.set(config, p)
  }
  return (route === undefined ? undefined : p.byRoute.get(route)) ?? p.general
}
