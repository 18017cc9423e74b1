// Great-circle distance (haversine) between two points, in kilometres.
import type { LatLon } from './country-centroids.js'

const R_KM = 6371.0088

export function distanceKm(a: LatLon, b: LatLon): number {
  const toRad = Math.PI / 180
  const dLat = (b.lat - a.lat) * toRad
  const dLon = (b.lon - a.lon) * toRad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.sin(dLon / 2) ** 2
  return 2 * R_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}
