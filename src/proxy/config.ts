// Proxy config: the zod schema of proxy.yaml, the DEFAULTS table, and loadProxyConfig/parseProxyConfig
// which validate once (errors name file:line:col field) and return a frozen object.
import { z } from 'zod'
import { loadConfigFile, parseConfig } from '../internal/config.js'
import type { DeepReadonly } from '../internal/freeze.js'
import {
  aclConfigSchema,
  cacheConfigSchema,
  geoConfigSchema,
  limitsConfigSchema,
  listenerAclSchema,
  listenerLimitsSchema,
  poolRegionSchema,
  regionsConfigSchema,
  routeAclSchema,
  routeCacheSchema,
  routeGeoSchema,
  routeLimitsSchema,
} from './config-extensions.js'
import { noEffectIssues } from './config-effect.js'

/** Every default in one place; units are in the names. */
export const DEFAULTS = {
  listenAddress: '0.0.0.0',
  adminAddress: '127.0.0.1',
  connectTimeoutMs: 5_000,
  upstreamHeadersTimeoutMs: 60_000,
  upstreamBodyTimeoutMs: 60_000,
  upstreamKeepAliveTimeoutMs: 4_000,
  maxConnectionsPerServer: 256,
  serverWeight: 1,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 2_000,
  healthRise: 2,
  healthFall: 3,
  outlierConsecutive5xx: 5,
  outlierConsecutiveConnectErrors: 3,
  outlierBaseEjectionMs: 5_000,
  outlierMaxEjectionMs: 300_000,
  circuitMaxConcurrent: 1_000,
  circuitMaxPending: 1_000,
  retryAttempts: 2,
  retryBudgetPercent: 20,
  retryMinPerSec: 10,
  h2MaxConcurrentStreams: 100,
  /** Client-sent RST_STREAMs per session per second above which the session is closed (Rapid Reset). */
  h2MaxResetsPerSec: 200,
  requestIdHeader: 'x-request-id',
  via: 'switchyard',
  clientHeadersTimeoutMs: 30_000,
  clientRequestTimeoutMs: 300_000,
  clientKeepAliveTimeoutMs: 5_000,
  stickyCookieTtlSec: 0,
  ewmaDecayMs: 10_000,
  shutdownGraceMs: 10_000,
  /** Upgrade tokens a route forwards unless it lists its own (`routes[].upgrade`); h2c is never a default. */
  upgradeProtocols: ['websocket'],
  /** Below this share of available servers a pool balances over every non-drained one (Envoy's panic threshold). */
  panicThresholdPercent: 50,
  /** At most this share of a pool's servers is ejected at once (at least one always stays in). */
  maxEjectionPercent: 50,
} as const

const durationMs = z.number().int().min(0)
const port = z.number().int().min(0).max(65535)

const serverSchema = z.union([
  z.url(),
  z.strictObject({
    url: z.url(),
    weight: z.number().int().min(0).max(1000).default(DEFAULTS.serverWeight),
    maxConnections: z.number().int().min(1).optional(),
    /** Stable id used in metrics, admin paths and hashing; default: host:port of the url. */
    id: z.string().min(1).optional(),
  }),
])

export const BALANCER_POLICIES = ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hash', 'maglev', 'p2c-ewma'] as const

const hashOnSchema = z.strictObject({
  source: z.enum(['ip', 'header', 'cookie', 'path']).default('ip'),
  /** Header or cookie name when source is header/cookie. */
  name: z.string().min(1).optional(),
})

const statusRange = z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]\d\d-[1-5]\d\d$|^[1-5]xx$/)])

const poolSchema = z.strictObject({
  servers: z.array(serverSchema).min(1),
  balance: z
    .union([
      z.enum(BALANCER_POLICIES),
      z.strictObject({ policy: z.enum(BALANCER_POLICIES), hashOn: hashOnSchema.optional() }),
    ])
    .default('round-robin'),
  sticky: z.strictObject({ cookie: z.string().min(1).default('sy_sticky'), ttlSec: z.number().int().min(0).default(DEFAULTS.stickyCookieTtlSec) }).optional(),
  maxConnectionsPerServer: z.number().int().min(1).default(DEFAULTS.maxConnectionsPerServer),
  connectTimeoutMs: durationMs.default(DEFAULTS.connectTimeoutMs),
  keepAliveTimeoutMs: durationMs.default(DEFAULTS.upstreamKeepAliveTimeoutMs),
  healthCheck: z
    .strictObject({
      path: z.string().startsWith('/').default('/'),
      method: z.enum(['GET', 'HEAD']).default('GET'),
      intervalMs: z.number().int().min(50).default(DEFAULTS.healthIntervalMs),
      timeoutMs: z.number().int().min(10).default(DEFAULTS.healthTimeoutMs),
      rise: z.number().int().min(1).default(DEFAULTS.healthRise),
      fall: z.number().int().min(1).default(DEFAULTS.healthFall),
      expectStatus: z.array(statusRange).default(['200-399']),
      host: z.string().optional(),
    })
    .optional(),
  outlier: z
    .strictObject({
      consecutive5xx: z.number().int().min(0).default(DEFAULTS.outlierConsecutive5xx),
      consecutiveConnectErrors: z.number().int().min(0).default(DEFAULTS.outlierConsecutiveConnectErrors),
      baseEjectionMs: durationMs.default(DEFAULTS.outlierBaseEjectionMs),
      maxEjectionMs: durationMs.default(DEFAULTS.outlierMaxEjectionMs),
      /** At most this share of the pool ejected at once; at least one server always stays in. */
      maxEjectionPercent: z.number().min(0).max(100).default(DEFAULTS.maxEjectionPercent),
    })
    .prefault({}),
  circuitBreaker: z
    .strictObject({
      maxConcurrent: z.number().int().min(1).default(DEFAULTS.circuitMaxConcurrent),
      maxPending: z.number().int().min(0).default(DEFAULTS.circuitMaxPending),
    })
    .prefault({}),
  retry: z
    .strictObject({
      attempts: z.number().int().min(0).max(10).default(DEFAULTS.retryAttempts),
      budgetPercent: z.number().min(0).max(100).default(DEFAULTS.retryBudgetPercent),
      minPerSec: z.number().min(0).default(DEFAULTS.retryMinPerSec),
    })
    .prefault({}),
  ewmaDecayMs: durationMs.default(DEFAULTS.ewmaDecayMs),
  /** Below this share of available servers, balance over every non-drained one; 0 turns it off. */
  panicThresholdPercent: z.number().min(0).max(100).default(DEFAULTS.panicThresholdPercent),
  region: poolRegionSchema,
})

const headerEditsSchema = z.strictObject({
  set: z.record(z.string(), z.string()).default({}),
  add: z.record(z.string(), z.string()).default({}),
  remove: z.array(z.string()).default([]),
})

const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: z
    .strictObject({
      host: z.union([z.string(), z.array(z.string())]).optional(),
      pathPrefix: z.string().startsWith('/').optional(),
      pathRegex: z.string().optional(),
      methods: z.array(z.string().toUpperCase()).optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .prefault({}),
  pool: z.string().min(1),
  rewrite: z
    .strictObject({
      stripPrefix: z.string().startsWith('/').optional(),
      addPrefix: z.string().startsWith('/').optional(),
      regex: z.string().optional(),
      replacement: z.string().optional(),
      host: z.string().optional(),
    })
    .optional(),
  requestHeaders: headerEditsSchema.optional(),
  responseHeaders: headerEditsSchema.optional(),
  timeouts: z
    .strictObject({
      headersMs: durationMs.optional(),
      bodyMs: durationMs.optional(),
    })
    .prefault({}),
  retry: z.strictObject({ attempts: z.number().int().min(0).max(10) }).optional(),
  /** Upgrade protocols forwarded to the origin (lower-case tokens); anything else is refused (400). */
  upgrade: z.array(z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/).toLowerCase()).default([...DEFAULTS.upgradeProtocols]),
  limits: routeLimitsSchema,
  cache: routeCacheSchema,
  acl: routeAclSchema,
  geo: routeGeoSchema,
})

const certSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /** SNI names this pair serves (`*.example.com` allowed); default: names in the certificate. */
  hosts: z.array(z.string()).optional(),
})

const listenerSchema = z.strictObject({
  name: z.string().min(1).optional(),
  protocol: z.enum(['http', 'https']).default('http'),
  address: z.string().default(DEFAULTS.listenAddress),
  port,
  tls: z
    .strictObject({
      certs: z.array(certSchema).default([]),
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      http2: z.boolean().default(true),
      h2MaxConcurrentStreams: z.number().int().min(1).default(DEFAULTS.h2MaxConcurrentStreams),
      h2MaxResetsPerSec: z.number().int().min(1).default(DEFAULTS.h2MaxResetsPerSec),
    })
    .prefault({}),
  /** On an http listener: answer every request with 308 to https on this port. */
  redirectToHttps: z.union([z.boolean(), port]).optional(),
  headersTimeoutMs: durationMs.default(DEFAULTS.clientHeadersTimeoutMs),
  requestTimeoutMs: durationMs.default(DEFAULTS.clientRequestTimeoutMs),
  keepAliveTimeoutMs: durationMs.default(DEFAULTS.clientKeepAliveTimeoutMs),
  limits: listenerLimitsSchema,
  acl: listenerAclSchema,
})

export const proxyConfigSchema = z
  .strictObject({
    listeners: z.array(listenerSchema).min(1),
    pools: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), poolSchema),
    routes: z.array(routeSchema).default([]),
    headers: z
      .strictObject({
        requestId: z.union([z.string().min(1), z.literal(false)]).default(DEFAULTS.requestIdHeader),
        via: z.union([z.string().min(1), z.literal(false)]).default(DEFAULTS.via),
        xForwarded: z.boolean().default(true),
        forwarded: z.boolean().default(true),
        /** CIDRs whose X-Forwarded-For / Forwarded chain is kept; others' is replaced. */
        trustedProxies: z.array(z.string()).default([]),
        /** Forward header names containing `_` (nginx: underscores_in_headers); off drops them. */
        underscoresInHeaders: z.boolean().default(false),
      })
      .prefault({}),
    admin: z
      .strictObject({
        address: z.string().default(DEFAULTS.adminAddress),
        port,
        /** Bearer token for every admin route but /healthz; required to bind beyond loopback. */
        token: z.string().min(16).optional(),
        /** Host names (besides loopback and the bound address) the admin API answers to. */
        allowedHosts: z.array(z.string().min(1)).default([]),
      })
      .optional(),
    accessLog: z
      .strictObject({ enabled: z.boolean().default(true), path: z.string().default('stdout') })
      .prefault({}),
    limits: limitsConfigSchema,
    cache: cacheConfigSchema,
    geo: geoConfigSchema,
    regions: regionsConfigSchema,
    acl: aclConfigSchema,
    /**
     * The HTTP/1.1 fast path (docs/proxy.md): `client` parses simple requests (plain HTTP or
     * HTTP/1.1 over TLS) itself instead of node:http; `upstream` sends bodyless requests over raw
     * keep-alive sockets instead of undici. Both fall back per request; off only to compare.
     */
    fastPath: z.strictObject({ client: z.boolean().default(true), upstream: z.boolean().default(true) }).prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const pools = Object.keys(cfg.pools)
    cfg.routes.forEach((r, i) => {
      if (!(r.pool in cfg.pools)) {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'pool'], message: `expected one of the declared pools (${pools.join(', ')}), got ${JSON.stringify(r.pool)}` })
      }
      for (const [key, src] of [['pathRegex', r.match.pathRegex], ['regex', r.rewrite?.regex]] as const) {
        if (src === undefined) continue
        try {
          new RegExp(src)
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: ['routes', i, key === 'regex' ? 'rewrite' : 'match', key], message: `invalid regular expression: ${(err as Error).message}` })
        }
      }
    })
    if (cfg.routes.length === 0 && pools.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['routes'], message: 'expected at least one route when more than one pool is declared' })
    }
    const seen = new Set<string>()
    cfg.listeners.forEach((l, i) => {
      const key = `${l.address}:${l.port}`
      if (l.port !== 0 && seen.has(key)) ctx.addIssue({ code: 'custom', path: ['listeners', i, 'port'], message: `duplicate listener ${key}` })
      seen.add(key)
    })
    for (const issue of noEffectIssues(cfg, withImplicitRoute(cfg.routes, pools))) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
    for (const [name, pool] of Object.entries(cfg.pools)) {
      const p = typeof pool.balance === 'string' ? { policy: pool.balance } : pool.balance
      if ((p.policy === 'consistent-hash' || p.policy === 'maglev') && 'hashOn' in p && p.hashOn !== undefined && p.hashOn.source !== 'ip' && p.hashOn.source !== 'path' && p.hashOn.name === undefined) {
        ctx.addIssue({ code: 'custom', path: ['pools', name, 'balance', 'hashOn', 'name'], message: `expected a ${p.hashOn.source} name to hash on` })
      }
    }
  })
  // The implicit route becomes a real one, so every plugin's route settings see it.
  .transform((cfg) => (cfg.routes.length === 0 ? { ...cfg, routes: withImplicitRoute(cfg.routes, Object.keys(cfg.pools)) } : cfg))

type ParsedRoute = z.output<typeof routeSchema>

/**
 * No `routes:` and a single pool (the 5-line config): one route named `default` that matches
 * everything, with every route default (upgrade, timeouts...) like a declared route.
 */
function withImplicitRoute(routes: ParsedRoute[], pools: readonly string[]): ParsedRoute[] {
  if (routes.length > 0 || pools.length !== 1) return routes
  return [routeSchema.parse({ name: 'default', pool: pools[0] })]
}

export type ProxyConfigInput = z.input<typeof proxyConfigSchema>
export type ProxyConfig = DeepReadonly<z.output<typeof proxyConfigSchema>>
export type ListenerConfig = ProxyConfig['listeners'][number]
export type RouteConfig = ProxyConfig['routes'][number]
export type PoolConfig = ProxyConfig['pools'][string]
export type ServerConfig = PoolConfig['servers'][number]

export function parseProxyConfig(text: string, fileName = 'proxy.yaml'): ProxyConfig {
  return parseConfig(text, proxyConfigSchema, fileName)
}

export function loadProxyConfig(file: string): ProxyConfig {
  return loadConfigFile(file, proxyConfigSchema)
}

/** Validates an in-code config object (the library API); throws ConfigError like a file would. */
export function resolveProxyConfig(input: ProxyConfigInput): ProxyConfig {
  return parseConfig(JSON.stringify(input), proxyConfigSchema, 'options')
}
