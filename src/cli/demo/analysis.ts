// The demo's MapReduce job: reads the archived access events (JSON lines) and computes top paths,
// status classes, requests per region, cache verdicts, top rate-limited clients and latency
// percentiles per upstream. Two jobs: one keyed count over every metric, one per-upstream latency.
import type { Context } from '../../mapreduce/index.js'

export interface AccessEvent {
  path: string
  status: number
  region: string
  cache?: string
  remote_addr: string
  upstream: string
  request_time: number
  upstream_time: number
}

export interface AnalysisResult {
  /** Events read; equals the archive's line count. */
  total: number
  topPaths: { path: string; count: number }[]
  statuses: { class: string; count: number }[]
  regions: { region: string; count: number }[]
  cache: { verdict: string; count: number }[]
  cacheHitRatio: number | null
  limitedClients: { client: string; count: number }[]
  latency: { upstream: string; requests: number; p50_ms: number; p99_ms: number }[]
}

function top<T>(entries: Iterable<[string, number]>, n: number, make: (k: string, v: number) => T): T[] {
  return [...entries].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([k, v]) => make(k, v))
}

export async function analyseArchive(sc: Context, files: readonly string[]): Promise<AnalysisResult> {
  const empty: AnalysisResult = { total: 0, topPaths: [], statuses: [], regions: [], cache: [], cacheHitRatio: null, limitedClients: [], latency: [] }
  if (files.length === 0) return empty
  const events = sc.jsonLines<AccessEvent>([...files])

  // One pass: each event counts towards several metrics, keyed "metric|value".
  const counts = await events
    .flatMap((e) => {
      const out: [string, number][] = [
        ['total|all', 1],
        ['path|' + e.path.split('?')[0]!.replace(/\/\d+$/, '/:id').replace(/app-\d+\.js$/, 'app-*.js'), 1],
        ['status|' + Math.floor(e.status / 100) + 'xx', 1],
        ['region|' + e.region, 1],
      ]
      if (e.cache !== undefined) out.push(['cache|' + e.cache, 1])
      if (e.status === 429) out.push(['limited|' + e.remote_addr, 1])
      return out
    })
    .reduceByKey((a, b) => a + b)
    .collect()

  const byMetric = new Map<string, Map<string, number>>()
  for (const [key, n] of counts) {
    const bar = key.indexOf('|')
    const metric = key.slice(0, bar)
    let m = byMetric.get(metric)
    if (m === undefined) byMetric.set(metric, (m = new Map()))
    m.set(key.slice(bar + 1), n)
  }
  const get = (metric: string): Map<string, number> => byMetric.get(metric) ?? new Map()

  const latency = await events
    .filter((e) => e.upstream !== '' && e.upstream_time >= 0)
    .map((e) => [e.upstream, Math.round(e.upstream_time * 1000 * 10) / 10] as const)
    .groupByKey()
    .mapValues((ms) => {
      const s = [...ms].sort((a, b) => a - b)
      const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
      return { requests: s.length, p50: at(0.5), p99: at(0.99) }
    })
    .collect()

  const cache = get('cache')
  const hits = (cache.get('HIT') ?? 0) + (cache.get('STALE') ?? 0)
  const misses = cache.get('MISS') ?? 0
  return {
    total: get('total').get('all') ?? 0,
    topPaths: top(get('path'), 6, (path, count) => ({ path, count })),
    statuses: top(get('status'), 5, (c, count) => ({ class: c, count })),
    regions: top(get('region'), 6, (region, count) => ({ region, count })),
    cache: top(cache, 6, (verdict, count) => ({ verdict, count })),
    cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    limitedClients: top(get('limited'), 5, (client, count) => ({ client, count })),
    latency: latency
      .map(([upstream, v]) => ({ upstream, requests: v.requests, p50_ms: v.p50, p99_ms: v.p99 }))
      .sort((a, b) => (a.upstream < b.upstream ? -1 : 1)),
  }
}
