// Protection options: one DEFAULTS table (edge-proxy values, units in the names), the zod schema
// for the `limits` config section, and resolveLimits() that merges, validates and freezes.
import { z } from 'zod'
import { deepFreeze, type DeepReadonly } from '../../internal/freeze.js'
import type { RateLimitRule } from './rate-limiter.js'

export const LIMITS_DEFAULTS = {
  /** Whole request head must arrive within this (slowloris). Node: headersTimeout. */
  headersTimeoutMs: 10_000,
  /** Whole request (head + body) deadline; 0 disables. Node: requestTimeout. */
  requestTimeoutMs: 300_000,
  /** No body byte for this long ends the request with 408. */
  bodyIdleTimeoutMs: 30_000,
  /** Uploads slower than this after uploadGraceMs end with 408; 0 disables. */
  minUploadBytesPerSec: 1024,
  uploadGraceMs: 10_000,
  /** Idle keep-alive connection lifetime. */
  keepAliveTimeoutMs: 5_000,
  /** Requests served on one connection before it is closed; 0 = unlimited. */
  maxRequestsPerConnection: 1000,
  /** Request line + headers size (431 beyond). */
  maxHeaderBytes: 16_384,
  /** Header field count (431 beyond). */
  maxHeaders: 100,
  /** Request target length (414 beyond). */
  maxUrlBytes: 8192,
  /** Request body size (413 beyond); 0 = unlimited. */
  maxBodyBytes: 10 * 1024 * 1024,
  /** Open connections per client IP; 0 = unlimited. */
  maxConnectionsPerIp: 256,
  /** Open connections per listener; 0 = unlimited. */
  maxConnections: 10_000,
  /** In-flight requests per route; 0 = unlimited (routes may set their own). */
  maxInflightPerRoute: 0,
  /** Encoded `/` or `\` in paths: reject or keep. */
  encodedSlashes: 'reject' as 'reject' | 'keep',
} as const

/**
 * Timeouts that default to the listener's own settings (listeners[].headersTimeoutMs etc., see the
 * core's table) unless set under `limits`; LIMITS_DEFAULTS' values apply to embedded use only.
 */
export const LISTENER_TIMEOUT_KEYS = ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs'] as const

const cidrList = z.array(z.string().min(1))

export const rateRuleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  /** Requests per second refilled. */
  rate: z.number().positive(),
  /** Bucket size; defaults to the rate (one second's worth). */
  burst: z.number().int().positive().optional(),
  key: z.enum(['ip', 'header', 'route']).default('ip'),
  header: z.string().min(1).optional(),
})

export const rateStoreSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('memory') }),
  z.strictObject({
    type: z.literal('redis'),
    url: z.string().min(1),
    keyPrefix: z.string().optional(),
    onFailure: z.enum(['open', 'closed']).default('open'),
    commandTimeoutMs: z.number().int().positive().optional(),
  }),
])

/** `acl`, `listeners[i].acl`, `routes[i].acl`: CIDR allow/deny lists (deny wins). */
export const ipListSchema = z.strictObject({ allow: cidrList.optional(), deny: cidrList.optional() })

/** The `limits` section (global); routes may carry `routeLimitsSchema`. */
export const limitsSchema = z.strictObject({
  headersTimeoutMs: z.number().int().positive().optional(),
  requestTimeoutMs: z.number().int().nonnegative().optional(),
  bodyIdleTimeoutMs: z.number().int().positive().optional(),
  minUploadBytesPerSec: z.number().nonnegative().optional(),
  uploadGraceMs: z.number().int().nonnegative().optional(),
  keepAliveTimeoutMs: z.number().int().positive().optional(),
  maxRequestsPerConnection: z.number().int().nonnegative().optional(),
  maxHeaderBytes: z.number().int().min(1024).optional(),
  maxHeaders: z.number().int().positive().optional(),
  maxUrlBytes: z.number().int().min(16).optional(),
  maxBodyBytes: z.number().int().nonnegative().optional(),
  maxConnectionsPerIp: z.number().int().nonnegative().optional(),
  maxConnections: z.number().int().nonnegative().optional(),
  maxInflightPerRoute: z.number().int().nonnegative().optional(),
  encodedSlashes: z.enum(['reject', 'keep']).optional(),
  rate: z.array(rateRuleSchema).optional(),
  rateStore: rateStoreSchema.optional(),
})

/** `listeners[i].limits`: connection-level settings for that listener only. */
export const listenerLimitsSchema = limitsSchema.omit({ rate: true, rateStore: true, maxInflightPerRoute: true })

export const routeLimitsSchema = z.strictObject({
  maxInflight: z.number().int().nonnegative().optional(),
  rate: z.array(rateRuleSchema).optional(),
})

export type LimitsConfig = z.input<typeof limitsSchema>
export type RouteLimitsConfig = z.input<typeof routeLimitsSchema>
export type RateRuleConfig = z.input<typeof rateRuleSchema>

type Widen<T> = { -readonly [K in keyof T]: T[K] extends number ? number : T[K] extends string ? string : T[K] }

export type ResolvedRateRule = DeepReadonly<RateLimitRule>

export type ResolvedLimits = DeepReadonly<
  Omit<Widen<typeof LIMITS_DEFAULTS>, 'encodedSlashes'> & {
    encodedSlashes: 'reject' | 'keep'
    /** Keys explicitly set in the config (so listener defaults can apply to the others). */
    explicit: string[]
    rate: RateLimitRule[]
    rateStore: z.output<typeof rateStoreSchema>
  }
>

export function resolveRateRules(rules: readonly RateRuleConfig[] | undefined, prefix: string): RateLimitRule[] {
  return (rules ?? []).map((r, i) => {
    const parsed = rateRuleSchema.parse(r)
    return {
      name: parsed.name ?? `${prefix}${i}`,
      spec: { ratePerSec: parsed.rate, burst: parsed.burst ?? Math.max(1, Math.ceil(parsed.rate)) },
      key: parsed.key,
      ...(parsed.header === undefined ? {} : { header: parsed.header.toLowerCase() }),
    }
  })
}

/** Merges config over LIMITS_DEFAULTS, validates, freezes. Throws zod errors on bad input. */
export function resolveLimits(config: LimitsConfig = {}, listener: z.input<typeof listenerLimitsSchema> = {}): ResolvedLimits {
  const c = limitsSchema.parse(config)
  const l = listenerLimitsSchema.parse(listener)
  const { rate, rateStore, ...scalars } = c
  const defined = Object.fromEntries([...Object.entries(scalars), ...Object.entries(l)].filter(([, v]) => v !== undefined))
  return deepFreeze({
    ...LIMITS_DEFAULTS,
    ...defined,
    explicit: Object.keys(defined),
    rate: resolveRateRules(rate, 'global'),
    rateStore: rateStore ?? { type: 'memory' as const },
  }) as ResolvedLimits
}
