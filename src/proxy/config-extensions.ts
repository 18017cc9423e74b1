// EXTENSION SLOTS of the proxy config schema, owned by the protection / cache / GSLB modules.
//
// Each export below is the zod schema of one optional config key. Until a module exists its slot is
// an opaque passthrough (`z.unknown().optional()`), so a config using the key still loads. The
// module that owns a slot replaces that one line with an import of its own schema, e.g.
//   export { limitsConfigSchema } from './protect/config.js'
// A replacement must stay `.optional()` (a config without the key must keep working) and should
// use `z.strictObject` so typos are reported with file:line:col like every other key.
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
