// Nearest healthy region: candidate pools sorted by distance from the client; the first with an
// available server that is not overloaded wins. A client located directly in a region (header or
// CIDR table) is at distance 0 from it and ordered by distance from there for failover.
import type { LatLon } from './country-centroids.js'
import { distanceKm } from './distance.js'
import type { ClientLocation } from './locator.js'

export interface Region {
  readonly name: string
  readonly lat: number
  readonly lon: number
  /** Public URL clients should use for this region (/.well-known/gslb). */
  readonly url?: string
}

export interface PoolState {
  /** Servers the balancer may pick now. */
  available: number
  /** In-flight requests on those servers. */
  active: number
}

export interface Candidate {
  readonly pool: string
  readonly region: Region
}

export interface Ranked {
  pool: string
  region: Region
  distanceKm: number
  healthy: boolean
  overloaded: boolean
}

export interface Decision {
  pool: string
  region: Region
  distanceKm: number
  /** True when a nearer region was skipped (down or overloaded). */
  failover: boolean
  ranked: Ranked[]
}

export interface SelectorOptions {
  /** In-flight requests per available server at which a region counts as overloaded; 0 = never. */
  maxActivePerServer: number
  defaultRegion?: string
}

export class RegionSelector {
  readonly #candidates: readonly Candidate[]
  readonly #regions: ReadonlyMap<string, Region>
  readonly #options: SelectorOptions

  constructor(candidates: readonly Candidate[], regions: ReadonlyMap<string, Region>, options: SelectorOptions) {
    this.#candidates = candidates
    this.#regions = regions
    this.#options = options
  }

  get candidates(): readonly Candidate[] {
    return this.#candidates
  }

  origin(loc: ClientLocation): LatLon | undefined {
    if (loc.point !== undefined) return loc.point
    const name = loc.region ?? this.#options.defaultRegion
    return name === undefined ? undefined : this.#regions.get(name)
  }

  rank(loc: ClientLocation, state: (pool: string) => PoolState | undefined): Ranked[] {
    const from = this.origin(loc)
    const ranked = this.#candidates.map((c, i) => {
      const s = state(c.pool)
      const healthy = s !== undefined && s.available > 0
      const max = this.#options.maxActivePerServer
      const overloaded = healthy && max > 0 && s.active >= max * s.available
      const d = from === undefined ? Number.POSITIVE_INFINITY : c.region.name === loc.region ? 0 : distanceKm(from, c.region)
      return { pool: c.pool, region: c.region, distanceKm: d, healthy, overloaded, i }
    })
    // Unknown location: keep config order (the first listed region is the primary).
    ranked.sort((a, b) => a.distanceKm - b.distanceKm || a.i - b.i)
    return ranked.map(({ i: _i, ...r }) => r)
  }

  pick(loc: ClientLocation, state: (pool: string) => PoolState | undefined): Decision | undefined {
    const ranked = this.rank(loc, state)
    const usable = ranked.find((r) => r.healthy && !r.overloaded) ?? ranked.find((r) => r.healthy)
    if (usable === undefined) return undefined
    return { pool: usable.pool, region: usable.region, distanceKm: usable.distanceKm, failover: usable !== ranked[0], ranked }
  }
}
