// Cache options: DEFAULTS with units, the zod schemas for the `cache` section and per-route
// `cache` key, and resolveCacheOptions().
import { z } from 'zod'
import { deepFreeze, type DeepReadonly } from '../../internal/freeze.js'

export const CACHE_DEFAULTS = {
  /** Memory tier size (LRU by bytes). */
  maxMemoryBytes: 256 * 1024 * 1024,
  /** Responses larger than this are passed through, not stored. */
  maxObjectBytes: 8 * 1024 * 1024,
  /** Disk tier size when `disk.dir` is set. */
  maxDiskBytes: 1024 * 1024 * 1024,
  /** How long collapsed requests wait for the leader's response before going upstream themselves. */
  lockTimeoutMs: 5_000,
  /** Cache all routes unless a route says `cache: false`; default: routes opt in with `cache: true`. */
  allRoutes: false,
  /**
   * Seconds past its lifetime a stored response may still be served when the origin cannot be
   * reached at all (connect error, connection closed or reset before an answer, timeout, no
   * available server): RFC 9111 §4.2.4's disconnected cache. 0 = only when stale-if-error allows.
   */
  staleIfUnreachableSec: 3_600,
} as const

export const cacheSchema = z.strictObject({
  maxMemoryBytes: z.number().int().min(1024).optional(),
  maxObjectBytes: z.number().int().min(1).optional(),
  disk: z.strictObject({ dir: z.string().min(1), maxBytes: z.number().int().min(1024).optional() }).optional(),
  lockTimeoutMs: z.number().int().min(0).optional(),
  allRoutes: z.boolean().optional(),
  staleIfUnreachableSec: z.number().int().min(0).optional(),
})

/**
 * What a route does with responses that carry an origin `Set-Cookie` (the proxy's own sticky cookie
 * is never stored whatever this says): `bypass` (default, as nginx): not stored; `strip`: stored
 * without the Set-Cookie fields (only the client whose request reached the origin gets them);
 * `store`: stored and replayed to every client, as RFC 9111 allows for `public` responses.
 */
export const SET_COOKIE_POLICIES = ['bypass', 'strip', 'store'] as const
export type SetCookiePolicy = (typeof SET_COOKIE_POLICIES)[number]

export const routeCacheSchema = z.union([
  z.boolean(),
  z.strictObject({ enabled: z.boolean().default(true), setCookie: z.enum(SET_COOKIE_POLICIES).default('bypass') }),
])

export type CacheConfig = z.input<typeof cacheSchema>

export type ResolvedCacheOptions = DeepReadonly<{
  maxMemoryBytes: number
  maxObjectBytes: number
  maxDiskBytes: number
  lockTimeoutMs: number
  allRoutes: boolean
  staleIfUnreachableSec: number
  diskDir: string | undefined
}>

export function resolveCacheOptions(config: CacheConfig = {}): ResolvedCacheOptions {
  const c = cacheSchema.parse(config)
  return deepFreeze({
    maxMemoryBytes: c.maxMemoryBytes ?? CACHE_DEFAULTS.maxMemoryBytes,
    maxObjectBytes: c.maxObjectBytes ?? CACHE_DEFAULTS.maxObjectBytes,
    maxDiskBytes: c.disk?.maxBytes ?? CACHE_DEFAULTS.maxDiskBytes,
    lockTimeoutMs: c.lockTimeoutMs ?? CACHE_DEFAULTS.lockTimeoutMs,
    allRoutes: c.allRoutes ?? CACHE_DEFAULTS.allRoutes,
    staleIfUnreachableSec: c.staleIfUnreachableSec ?? CACHE_DEFAULTS.staleIfUnreachableSec,
    diskDir: c.disk?.dir,
  })
}

export function routeCacheEnabled(value: unknown, allRoutes: boolean): boolean {
  if (value === undefined || value === null) return allRoutes
  if (typeof value === 'boolean') return value
  return (value as { enabled?: boolean }).enabled !== false
}

export interface RouteCacheSettings {
  setCookie: SetCookiePolicy
}

/** The per-route settings of a route that caches (see routeCacheEnabled). */
export function routeCacheSettings(value: unknown): RouteCacheSettings {
  const setCookie = typeof value === 'object' && value !== null ? (value as { setCookie?: SetCookiePolicy }).setCookie : undefined
  return { setCookie: setCookie ?? 'bypass' }
}
