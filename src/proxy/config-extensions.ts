// EXTENSION SLOTS of the proxy config schema, owned by the protection / cache / GSLB modules.
//
// Each export below is the zod schema of one optional config key. Until a module exists its slot is
// an opaque passthrough (`z.unknown().optional()`), so a config using the key still loads. The
// module that owns a slot replaces that one line with an import of its own schema, e.g.
//   export { limitsConfigSchema } from './protect/config.js'
// A replacement must stay `.optional()` (a config without the key must keep working) and should
// use `z.strictObject` so typos are reported with file:line:col like every other key.
// The core never reads these values; it hands the parsed slices to plugins (see plugins.ts).
import { z } from 'zod'

// ---- top level (`limits:`, `cache:`, `geo:`, `regions:`, `acl:`) ---------------------------------
export const limitsConfigSchema = z.unknown().optional()
export const cacheConfigSchema = z.unknown().optional()
export const geoConfigSchema = z.unknown().optional()
export const regionsConfigSchema = z.unknown().optional()
export const aclConfigSchema = z.unknown().optional()

// ---- per listener (`listeners[i].limits`, `listeners[i].acl`) -------------------------------------
export const listenerLimitsSchema = z.unknown().optional()
export const listenerAclSchema = z.unknown().optional()

// ---- per route (`routes[i].limits`, `.cache`, `.acl`, `.geo`) ------------------------------------
export const routeLimitsSchema = z.unknown().optional()
export const routeCacheSchema = z.unknown().optional()
export const routeAclSchema = z.unknown().optional()
export const routeGeoSchema = z.unknown().optional()

// ---- per pool (`pools.<name>.region`) -----------------------------------------------------------
export const poolRegionSchema = z.unknown().optional()
