// Terminal output of the demo: a progress line every few seconds and the final summary. Every
// number comes from the running system (proxy hooks, broker consumers, the MapReduce job).
import type { AnalysisResult } from './analysis.js'
import type { TrafficStats } from './traffic.js'

export interface DemoSummary {
  seconds: number
  /** Requests the proxy answered (one access-log record each). */
  proxyServed: number
  trafficSent: number
  trafficAnswered: number
  trafficErrors: number
  statusClasses: Record<string, number>
  byStatus: Record<string, number>
  perServer: Record<string, number>
  perRegion: Record<string, number>
  cache: { hits: number; misses: number; stale: number; bypass: number }
  limited: number
  alerts: number
  alertsPerMember: number[]
  /** Events the archiver wrote and acknowledged. */
  archived: number
  /** Lines in the archive files on disk. */
  archiveLines: number
  archiveDrained: boolean
  jobs: number
  analysis: AnalysisResult
  events: string[]
  dir: string
}

interface Counters {
  requests: number
  limited: number
  cache: { hits: number; misses: number }
}

export function progressLine(elapsedMs: number, c: Counters, t: TrafficStats, alerts: number, archived: number, jobs: number): string {
  const ratio = c.cache.hits + c.cache.misses > 0 ? `${((100 * c.cache.hits) / (c.cache.hits + c.cache.misses)).toFixed(0)}%` : '-'
  return `  [${String(Math.round(elapsedMs / 1000)).padStart(3)} s] proxy ${c.requests} req, cache hit ${ratio}, 429s ${c.limited}, 5xx alerts ${alerts} | archived ${archived} | jobs ${jobs} | client errors ${t.errors}`
}

function table(title: string, rows: Record<string, string | number>[]): string[] {
  if (rows.length === 0) return [`  ${title}: (none)`]
  const cols = Object.keys(rows[0] as object)
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)))
  const line = (vals: string[]) => `    ${vals.map((v, i) => v.padEnd(width[i] ?? 0)).join('  ')}`
  return [`  ${title}:`, line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c]))))]
}

export function finalSummary(s: DemoSummary): string[] {
  const a = s.analysis
  const lines = [
    '',
    `Switchyard demo summary (${s.seconds.toFixed(1)} s)`,
    `  proxy served ${s.proxyServed} requests (clients sent ${s.trafficSent}, got ${s.trafficAnswered} answers, ${s.trafficErrors} transport errors)`,
    `  status classes: ${Object.entries(s.statusClasses).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  per server: ${Object.entries(s.perServer).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  per region: ${Object.entries(s.perRegion).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  cache: ${s.cache.hits} hits, ${s.cache.misses} misses, ${s.cache.stale} stale, ${s.cache.bypass} bypass`,
    `  rate-limited (429): ${s.limited}`,
    `  5xx alerts: ${s.alerts} (queue group members handled ${s.alertsPerMember.join(' + ')})`,
    `  fan-out: archiver wrote ${s.archived} events, ${s.archiveLines} lines on disk ${s.archiveLines === s.proxyServed ? '= requests served: nothing lost' : `!= ${s.proxyServed} requests served`}`,
    `  mapreduce: ${s.jobs} jobs; last job counted ${a.total} events ${a.total === s.archiveLines ? '= archive lines' : `!= ${s.archiveLines} archive lines`}`,
    ...s.events.map((e) => `  event: ${e}`),
    ...table('top paths', a.topPaths),
    ...table('latency per upstream (ms)', a.latency),
    ...table('requests per region', a.regions),
    ...table('top rate-limited clients', a.limitedClients),
    `  cache hit ratio (from the archive): ${a.cacheHitRatio === null ? '-' : `${(a.cacheHitRatio * 100).toFixed(1)}%`}`,
    `  files: ${s.dir}`,
  ]
  return lines
}
