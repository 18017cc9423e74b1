// Settings that would load and then do nothing are refused at load (issue #15 §3): each check
// names the key, so the config error points at its file:line:col. The implicit route (no `routes:`
// and one pool) is a real route in the parsed config (see config.ts), so route-level plugin settings
// such as `cache.allRoutes` take effect on it like on any other.
import type { z } from 'zod'
import { DEFAULTS, type proxyConfigSchema } from './config.js'

type Parsed = z.output<typeof proxyConfigSchema>
type TlsSettings = Parsed['listeners'][number]['tls']

// A function, not a constant: config.ts imports this module, so DEFAULTS is only there at call time.
const tlsDefaults = (): Pick<TlsSettings, 'minVersion' | 'http2' | 'h2MaxConcurrentStreams' | 'h2MaxResetsPerSec'> => ({
  minVersion: 'TLSv1.2',
  http2: true,
  h2MaxConcurrentStreams: DEFAULTS.h2MaxConcurrentStreams,
  h2MaxResetsPerSec: DEFAULTS.h2MaxResetsPerSec,
})
const H2_SETTINGS = ['h2MaxConcurrentStreams', 'h2MaxResetsPerSec'] as const
const TLS_SETTINGS = ['minVersion', 'http2', ...H2_SETTINGS] as const

export interface NoEffect {
  path: (string | number)[]
  message: string
}

interface RateRule {
  key?: string
  header?: string | undefined
}

function rateRuleIssues(rules: readonly RateRule[] | undefined, at: (string | number)[], out: NoEffect[]): void {
  rules?.forEach((r, i) => {
    if (r.key === 'header' && r.header === undefined) out.push({ path: [...at, i, 'key'], message: 'has no effect: key "header" needs `header` (the header name to count by); without it every client is counted by IP' })
    if (r.key !== 'header' && r.header !== undefined) out.push({ path: [...at, i, 'header'], message: `has no effect: \`header\` is only used with key "header" (this rule counts by ${r.key ?? 'ip'})` })
  })
}

function routeCaches(value: unknown, allRoutes: boolean): boolean {
  if (value === undefined || value === null) return allRoutes
  if (typeof value === 'boolean') return value
  return (value as { enabled?: boolean }).enabled !== false
}

/** Every setting of `cfg` that would be accepted and silently ignored; `routes` includes the implicit one. */
export function noEffectIssues(cfg: Parsed, routes: Parsed['routes']): NoEffect[] {
  const out: NoEffect[] = []

  // --- core --------------------------------------------------------------------------------
  cfg.listeners.forEach((l, i) => {
    if (l.protocol === 'https' && l.redirectToHttps !== undefined && l.redirectToHttps !== false) {
      out.push({ path: ['listeners', i, 'redirectToHttps'], message: 'has no effect on an https listener (it redirects plain-HTTP requests); put it on an http listener' })
    }
    if (l.protocol === 'http' && l.tls.certs.length > 0) out.push({ path: ['listeners', i, 'tls', 'certs'], message: 'has no effect on an http listener; set protocol: https' })
    // The parsed config holds defaults, so a value that differs from its default is one the file set.
    const tls = l.tls
    const defaults = tlsDefaults()
    if (l.protocol === 'http') {
      for (const key of TLS_SETTINGS) {
        if (tls[key] !== defaults[key]) out.push({ path: ['listeners', i, 'tls', key], message: 'has no effect on an http listener; set protocol: https' })
      }
    } else if (!tls.http2) {
      for (const key of H2_SETTINGS) {
        if (tls[key] !== defaults[key]) out.push({ path: ['listeners', i, 'tls', key], message: 'has no effect with tls.http2: false (no HTTP/2 is spoken on this listener)' })
      }
    }
  })
  for (const [name, pool] of Object.entries(cfg.pools)) {
    if (typeof pool.balance === 'object' && pool.balance.hashOn !== undefined && pool.balance.policy !== 'consistent-hash' && pool.balance.policy !== 'maglev') {
      out.push({ path: ['pools', name, 'balance', 'hashOn'], message: `has no effect with policy ${pool.balance.policy}; use consistent-hash or maglev` })
    }
  }
  routes.forEach((r, i) => {
    if (r.rewrite?.replacement !== undefined && r.rewrite.regex === undefined) out.push({ path: ['routes', i, 'rewrite', 'replacement'], message: 'has no effect without rewrite.regex' })
  })

  // --- protection plugin -------------------------------------------------------------------
  const limits = cfg.limits as { rate?: RateRule[]; rateStore?: unknown } | undefined
  rateRuleIssues(limits?.rate, ['limits', 'rate'], out)
  let anyRate = (limits?.rate?.length ?? 0) > 0
  routes.forEach((r, i) => {
    const rl = r.limits as { rate?: RateRule[] } | undefined
    rateRuleIssues(rl?.rate, ['routes', i, 'limits', 'rate'], out)
    if ((rl?.rate?.length ?? 0) > 0) anyRate = true
  })
  if (limits?.rateStore !== undefined && !anyRate) out.push({ path: ['limits', 'rateStore'], message: 'has no effect without rate rules (limits.rate or routes[].limits.rate)' })

  // --- cache plugin ------------------------------------------------------------------------
  const cache = cfg.cache as { allRoutes?: boolean } | undefined
  if (cache !== undefined && !routes.some((r) => routeCaches(r.cache, cache.allRoutes === true))) {
    out.push({ path: ['cache'], message: 'has no effect: no route is cached; set cache.allRoutes: true or cache: true on a route' })
  }

  // --- GSLB plugin -------------------------------------------------------------------------
  const regional = Object.entries(cfg.pools).filter(([, p]) => p.region !== undefined)
  if (regional.length === 0) {
    if (cfg.geo !== undefined) out.push({ path: ['geo'], message: 'has no effect: no pool has a region (pools.<name>.region)' })
    if (cfg.regions !== undefined) out.push({ path: ['regions'], message: 'has no effect: no pool has a region (pools.<name>.region)' })
    routes.forEach((r, i) => {
      if (r.geo === true) out.push({ path: ['routes', i, 'geo'], message: 'has no effect: no pool has a region (pools.<name>.region)' })
    })
  }
  return out
}
