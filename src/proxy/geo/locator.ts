// Where is the client? In the configured order: a trusted header (a region name, an ISO country
// code, or "lat,lon"), a CIDR -> region table, the offline GeoIP country database (GeoLite2
// country, shipped as an npm package, read with `maxmind`) mapped to a country centroid.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Reader, type Response } from 'maxmind'
import { CidrTable } from '../protect/cidr.js'
import { countryCentroid, type LatLon } from './country-centroids.js'

export const LocationSources = { HEADER: 'header', CIDR: 'cidr', GEOIP: 'geoip' } as const
export type LocationSource = (typeof LocationSources)[keyof typeof LocationSources]

export interface ClientLocation {
  source: LocationSource | 'default'
  /** Set when the source names a region directly (header or CIDR table). */
  region?: string
  country?: string
  point?: LatLon
}

export interface LocatorOptions {
  sources: readonly LocationSource[]
  /** Header carrying the location; believed only from trusted peers. */
  header: string
  cidrs: Readonly<Record<string, string>>
  /** mmdb file; undefined = the bundled GeoLite2 country database. */
  geoipDb?: string
  regionNames: ReadonlySet<string>
}

type CountryRecord = { country_code?: string; country?: { iso_code?: string } }

const readers = new Map<string, Reader<Response>>()

export function bundledGeoipPath(): string {
  const require = createRequire(import.meta.url)
  const pkg = require.resolve('@ip-location-db/geolite2-country-mmdb/package.json')
  return pkg.replace(/package\.json$/, 'geolite2-country.mmdb')
}

/** Opens (once per path, shared across reloads) an mmdb country database. */
export function geoipReader(path: string = bundledGeoipPath()): Reader<Response> {
  let r = readers.get(path)
  if (r === undefined) {
    r = new Reader<Response>(readFileSync(path))
    readers.set(path, r)
  }
  return r
}

export class ClientLocator {
  readonly #options: LocatorOptions
  readonly #cidrs = new CidrTable<string>()
  readonly #reader: Reader<Response> | undefined

  constructor(options: LocatorOptions) {
    this.#options = options
    for (const [cidr, region] of Object.entries(options.cidrs)) this.#cidrs.add(cidr, region)
    this.#reader = options.sources.includes('geoip') ? geoipReader(options.geoipDb) : undefined
  }

  /** Country code for an address from the GeoIP database, if any. */
  country(ip: string): string | undefined {
    if (this.#reader === undefined) return undefined
    try {
      const rec = this.#reader.get(ip) as CountryRecord | null
      return rec?.country_code ?? rec?.country?.iso_code
    } catch {
      return undefined
    }
  }

  locate(clientIp: string, headerValue: string | undefined, headerTrusted: boolean): ClientLocation {
    for (const source of this.#options.sources) {
      if (source === 'header') {
        if (!headerTrusted || headerValue === undefined || headerValue === '') continue
        const v = headerValue.trim()
        if (this.#options.regionNames.has(v)) return { source, region: v }
        const m = /^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$/.exec(v)
        if (m !== null) {
          const lat = Number(m[1])
          const lon = Number(m[2])
          if (Math.abs(lat) <= 90 && Math.abs(lon) <= 180) return { source, point: { lat, lon } }
        }
        if (/^[A-Za-z]{2}$/.test(v)) {
          const point = countryCentroid(v)
          if (point !== undefined) return { source, country: v.toUpperCase(), point }
        }
      } else if (source === 'cidr') {
        const region = this.#cidrs.lookup(clientIp)
        if (region !== undefined) return { source, region }
      } else {
        const country = this.country(clientIp)
        const point = country === undefined ? undefined : countryCentroid(country)
        if (country !== undefined && point !== undefined) return { source, country, point }
      }
    }
    return { source: 'default' }
  }
}
