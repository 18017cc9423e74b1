// The config keys owned by the protection, cache and GSLB modules, gathered in one place for the
// core schema in config.ts: each export is the zod schema of one optional key (top level, per
// listener, per route, per pool), imported from the module that owns it. Each stays `.optional()`
// (a config without the key keeps working) and is strict, so typos are reported with file:line:col.
// The core never reads these values; it hands the parsed slices to plugins (see plugins.ts).
import { cacheSchema, routeCacheSchema as cacheRouteSchema } from './cache/options.js'
import { geoSchema, poolRegionSchema as geoPoolRegionSchema, regionsSchema, routeGeoSchema as geoRouteSchema } from './geo/options.js'
import {
  ipListSchema,
  limitsSchema as protectLimitsSchema,
  listenerLimitsSchema as protectListenerLimitsSchema,
  routeLimitsSchema as protectRouteLimitsSchema,
} from './protect/options.js'

// ---- top level (`limits:`, `cache:`, `geo:`, `regions:`, `acl:`) ---------------------------------
export const limitsConfigSchema = protectLimitsSchema.optional()
export const cacheConfigSchema = cacheSchema.optional()
export const geoConfigSchema = geoSchema.optional()
export const regionsConfigSchema = regionsSchema.optional()
export const aclConfigSchema = ipListSchema.optional()

// ---- per listener (`listeners[i].limits`, `listeners[i].acl`) -------------------------------------
export const listenerLimitsSchema = protectListenerLimitsSchema.optional()
export const listenerAclSchema = ipListSchema.optional()

// ---- per route (`routes[i].limits`, `.cache`, `.acl`, `.geo`) ------------------------------------
export const routeLimitsSchema = protectRouteLimitsSchema.optional()
export const routeCacheSchema = cacheRouteSchema.optional()
export const routeAclSchema = ipListSchema.optional()
export const routeGeoSchema = geoRouteSchema.optional()

// ---- per pool (`pools.<name>.region`) -----------------------------------------------------------
export const poolRegionSchema = geoPoolRegionSchema.optional()
