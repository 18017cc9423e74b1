// The GSLB plugin: pools grouped by region; for routes with `geo`, selectPool sends the request to
// the nearest region with healthy, non-overloaded servers (next nearest on failure). The decision
// shows in X-Served-Region, the access log (`region`) and per-region metrics; /.well-known/gslb
// returns it as JSON for clients and other proxies (what a GSLB DNS answer would carry).
import { Counter, type Registry } from '../../internal/metrics.js'
import { ProxyError, ProxyErrorCodes } from '../errors.js'
import { respond, type ProxyHooks, type ProxyPlugin, type ProxyRequestContext, type UpstreamPoolView } from '../plugin-api.js'
import { CidrSet } from '../protect/cidr.js'
import { ClientLocator, type LocationSource } from './locator.js'
import { GEO_DEFAULTS, type GeoConfig, type RegionsConfig } from './options.js'
import { RegionSelector, type Candidate, type Region } from './selector.js'

function counter(registry: Registry): Counter<'region' | 'failover'> {
  const name = 'switchyard_proxy_gslb_decisions_total'
  return (
    (registry.getSingleMetric(name) as Counter<'region' | 'failover'> | undefined) ??
    new Counter({ name, help: 'GSLB decisions by served region; failover=true when a nearer region was skipped', labelNames: ['region', 'failover'], registers: [registry] })
  )
}

function poolState(view: UpstreamPoolView | undefined): { available: number; active: number } | undefined {
  if (view === undefined) return undefined
  let active = 0
  for (const s of view.servers) if (s.available) active += s.active
  return { available: view.availableCount(), active }
}

export const WELL_KNOWN_PATH = '/.well-known/gslb'

export const geoPlugin: ProxyPlugin = {
  name: 'geo',
  fastPathSafe: true,
  create(pctx) {
    const cfg = pctx.config
    const regionsCfg = (cfg.regions ?? {}) as RegionsConfig
    const geoCfg = (cfg.geo ?? {}) as GeoConfig
    const regions = new Map<string, Region>(Object.entries(regionsCfg).map(([name, r]) => [name, { name, lat: r.lat, lon: r.lon, ...(r.url === undefined ? {} : { url: r.url }) }]))
    const all: Candidate[] = []
    for (const [pool, p] of Object.entries(cfg.pools)) {
      if (p.region === undefined) continue
      const region = regions.get(p.region as string)
      if (region === undefined) {
        throw new ProxyError(ProxyErrorCodes.CONFIG, `Cannot use pools.${pool}.region: region ${JSON.stringify(p.region)} is not declared under regions (have ${[...regions.keys()].join(', ') || 'none'})`)
      }
      all.push({ pool, region })
    }
    const geoRoutes = cfg.routes.filter((r) => r.geo !== undefined && r.geo !== false)
    if (all.length === 0 && geoRoutes.length === 0) return undefined
    const sources = (geoCfg.sources ?? (geoCfg.geoipDb === false ? GEO_DEFAULTS.sources.filter((s) => s !== 'geoip') : GEO_DEFAULTS.sources)) as LocationSource[]
    for (const [cidr, region] of Object.entries(geoCfg.cidrs ?? {})) {
      if (!regions.has(region)) throw new ProxyError(ProxyErrorCodes.CONFIG, `Cannot use geo.cidrs[${JSON.stringify(cidr)}]: region ${JSON.stringify(region)} is not declared under regions`)
    }
    if (geoCfg.defaultRegion !== undefined && !regions.has(geoCfg.defaultRegion)) {
      throw new ProxyError(ProxyErrorCodes.CONFIG, `Cannot use geo.defaultRegion: region ${JSON.stringify(geoCfg.defaultRegion)} is not declared under regions`)
    }
    const locator = new ClientLocator({
      sources,
      header: (geoCfg.header ?? GEO_DEFAULTS.header).toLowerCase(),
      cidrs: geoCfg.cidrs ?? {},
      ...(typeof geoCfg.geoipDb === 'string' ? { geoipDb: geoCfg.geoipDb } : {}),
      regionNames: new Set(regions.keys()),
    })
    const selectorOptions = { maxActivePerServer: geoCfg.maxActivePerServer ?? GEO_DEFAULTS.maxActivePerServer, ...(geoCfg.defaultRegion === undefined ? {} : { defaultRegion: geoCfg.defaultRegion }) }
    const allSelector = new RegionSelector(all, regions, selectorOptions)
    const routeSelectors = new Map<unknown, RegionSelector>()
    cfg.routes.forEach((r, i) => {
      const g = r.geo as boolean | { pools: string[] } | undefined
      if (g === undefined || g === false) return
      if (g === true) return routeSelectors.set(r, allSelector)
      const picked = g.pools.map((p) => {
        const c = all.find((x) => x.pool === p)
        if (c === undefined) throw new ProxyError(ProxyErrorCodes.CONFIG, `Cannot use routes[${i}].geo.pools: pool ${JSON.stringify(p)} has no region`)
        return c
      })
      routeSelectors.set(r, new RegionSelector(picked, regions, selectorOptions))
    })
    const trusted = new CidrSet(cfg.headers.trustedProxies)
    const headerName = (geoCfg.header ?? GEO_DEFAULTS.header).toLowerCase()
    const decisions = counter(pctx.registry)
    const servedHeader = geoCfg.servedRegionHeader ?? GEO_DEFAULTS.servedRegionHeader
    const wellKnown = geoCfg.wellKnown ?? GEO_DEFAULTS.wellKnown

    const locate = (ctx: ProxyRequestContext) => {
      const hv = ctx.req.headers[headerName]
      return locator.locate(ctx.clientIp, Array.isArray(hv) ? hv[0] : hv, trusted.has(ctx.peerIp))
    }

    const hooks: ProxyHooks = {
      onRequest(ctx) {
        if (!wellKnown || ctx.path.split('?')[0] !== WELL_KNOWN_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return undefined
        const loc = locate(ctx)
        const stateOf = (pool: string) => poolState(ctx.pool(pool))
        const d = allSelector.pick(loc, stateOf)
        const ranked = allSelector.rank(loc, stateOf)
        const body = {
          region: d?.region.name ?? null,
          url: d?.region.url ?? null,
          pool: d?.pool ?? null,
          failover: d?.failover ?? false,
          client: { ip: ctx.clientIp, source: loc.source, ...(loc.country === undefined ? {} : { country: loc.country }), ...(loc.region === undefined ? {} : { region: loc.region }) },
          ttl: 30,
          candidates: ranked.map((r) => ({ region: r.region.name, pool: r.pool, url: r.region.url ?? null, distanceKm: Number.isFinite(r.distanceKm) ? Math.round(r.distanceKm) : null, healthy: r.healthy, overloaded: r.overloaded })),
        }
        ctx.log.region = d?.region.name ?? '-'
        return respond(ctx, d === undefined ? 503 : 200, JSON.stringify(body), { 'content-type': 'application/json', 'cache-control': 'max-age=30' })
      },
      selectPool(ctx) {
        const sel = ctx.route === undefined ? undefined : routeSelectors.get(ctx.route)
        if (sel === undefined) {
          const c = all.find((x) => x.pool === ctx.poolName)
          if (c !== undefined) ctx.log.region = c.region.name
          return undefined
        }
        const loc = locate(ctx)
        const d = sel.pick(loc, (pool) => poolState(ctx.pool(pool)))
        if (d === undefined) return undefined // every region down: the core answers 503 for the route's pool
        decisions.inc({ region: d.region.name, failover: String(d.failover) })
        ctx.log.region = d.region.name
        ctx.log.region_source = loc.source
        if (d.failover) ctx.log.region_failover = true
        if (servedHeader && !ctx.res.headersSent) ctx.res.setHeader('x-served-region', d.region.name)
        return d.pool
      },
    }
    return hooks
  },
}
