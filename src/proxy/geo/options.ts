// GSLB config: `regions` (name -> lat/lon/url), `pools.<name>.region`, the `geo` section (how the
// client is located, overload threshold, headers) and `routes[i].geo`.
import { z } from 'zod'

export const GEO_DEFAULTS = {
  sources: ['header', 'cidr', 'geoip'] as const,
  /** Trusted header with a region name, ISO country code, or "lat,lon". */
  header: 'x-client-location',
  /** In-flight requests per available server that marks a region overloaded; 0 = never. */
  maxActivePerServer: 0,
  /** Adds X-Served-Region to responses of geo routes. */
  servedRegionHeader: true,
  /** Serves GET /.well-known/gslb on every listener. */
  wellKnown: true,
} as const

export const regionsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/),
  z.strictObject({
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    url: z.string().min(1).optional(),
  }),
)

export const geoSchema = z.strictObject({
  sources: z.array(z.enum(['header', 'cidr', 'geoip'])).optional(),
  header: z.string().min(1).optional(),
  cidrs: z.record(z.string(), z.string()).optional(),
  /** Path to an mmdb country database; default the bundled GeoLite2 country database; false disables. */
  geoipDb: z.union([z.string().min(1), z.literal(false)]).optional(),
  defaultRegion: z.string().optional(),
  maxActivePerServer: z.number().int().min(0).optional(),
  servedRegionHeader: z.boolean().optional(),
  wellKnown: z.boolean().optional(),
})

export const poolRegionSchema = z.string().min(1)

/** `true`: every pool with a region is a candidate; or an explicit list of pools. */
export const routeGeoSchema = z.union([z.boolean(), z.strictObject({ pools: z.array(z.string().min(1)).min(1) })])

export type GeoConfig = z.input<typeof geoSchema>
export type RegionsConfig = z.input<typeof regionsSchema>
