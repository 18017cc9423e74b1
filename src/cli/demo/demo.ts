// `switchyard demo`: the three parts working together on embedded defaults. Origins in three
// regions sit behind the proxy (GSLB, caching, rate limiting, health checks); every access event is
// published on the broker and fanned out to the dashboard, a durable archiver and an alerting queue
// group; MapReduce jobs analyse the archive and publish their results back on the broker.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAdminServer, type AdminServer } from '../../internal/admin-server.js'
import { mountDashboard, type DashboardMount } from '../../internal/dashboard/mount.js'
import type { DashboardSnapshot } from '../../internal/dashboard/snapshot.js'
import { AccessCounters, brokerSnapshot, proxySnapshot } from '../dashboard-sources.js'
import { startBroker, type Broker } from '../../broker/index.js'
import { ProxyServer, parseProxyConfig, type ProxyPlugin } from '../../proxy/index.js'
import { builtinPlugins } from '../../proxy/index.js'
import { Context } from '../../mapreduce/index.js'
import { startAlerts, type AlertGroup } from './alerts.js'
import { analyseArchive, type AnalysisResult } from './analysis.js'
import { startArchiver, type Archiver } from './archiver.js'
import { demoProxyYaml } from './config.js'
import { startOrigin, type OriginServer, type OriginSpec } from './origins.js'
import { choosePort } from './ports.js'
import { startTraffic, type TrafficGenerator } from './traffic.js'
import { finalSummary, progressLine, type DemoSummary } from './summary.js'

export interface DemoOptions {
  durationMs: number
  /** Working directory for the stream store, archive and cache; default a new temp dir. */
  dir?: string
  /** Seconds between MapReduce analyses. */
  jobEveryMs?: number
  /** Seconds between terminal progress lines. */
  reportEveryMs?: number
  /** Traffic multiplier. */
  scale?: number
  /** MapReduce worker processes. */
  workers?: number
  out?: (line: string) => void
  /** Called once everything listens, with the printed addresses. */
  onReady?: (urls: DemoUrls) => void
  /** Resolves to stop early (Ctrl-C). */
  stopSignal?: Promise<unknown>
}

export interface DemoUrls {
  dashboard: string
  proxy: string
  proxyAdmin: string
  broker: string
  brokerMonitor: string
  dir: string
}

const ORIGINS: readonly OriginSpec[] = [
  { id: 'eu-1', region: 'eu', baseLatencyMs: 4, failureRate: 0.02 },
  { id: 'eu-2', region: 'eu', baseLatencyMs: 6, failureRate: 0.02 },
  { id: 'us-1', region: 'us', baseLatencyMs: 5, failureRate: 0.02 },
  { id: 'us-2', region: 'us', baseLatencyMs: 9, failureRate: 0.2 },
  { id: 'ap-1', region: 'ap', baseLatencyMs: 8, failureRate: 0.02 },
]

/** The proxy plugin that turns every access-log record into a broker event. */
function accessEventsPlugin(broker: Broker, counters: AccessCounters): ProxyPlugin {
  return {
    name: 'demo-access-events',
    create: (plugin) => {
      // Access records carry the upstream's address; events name the server, as people do.
      const idByAddress = new Map<string, string>()
      for (const pool of plugin.pools) for (const s of pool.servers) idByAddress.set(new URL(s.url).host, s.id)
      return {
        onLog(_ctx, r) {
          counters.add(r)
          // Cache hits and rejections never reach a region: they are answered at the edge.
          const region = r.region ?? 'edge'
          const event = {
            time: r.time,
            request_id: r.request_id,
            method: r.method,
            path: r.path,
            status: r.status,
            remote_addr: r.remote_addr,
            region,
            cache: r.cache,
            limit: r.limit,
            pool: r.pool,
            upstream: idByAddress.get(r.upstream_addr) ?? r.upstream_addr,
            upstream_time: r.upstream_time,
            request_time: r.request_time,
          }
          broker.publish(`proxy.access.${region}.${Math.floor(r.status / 100)}xx`, JSON.stringify(event))
        },
      }
    },
  }
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? ((l: string) => process.stdout.write(`${l}\n`))
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'switchyard-demo-'))
  const jobEveryMs = options.jobEveryMs ?? 10_000
  const reportEveryMs = options.reportEveryMs ?? 5_000
  for (const sub of ['store', 'archive', 'cache', 'scratch']) mkdirSync(join(dir, sub), { recursive: true })
  const started = Date.now()
  const taken = new Set<number>()
  const cleanups: (() => Promise<void> | void)[] = []
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch {
        // Best effort: keep closing the rest.
      }
    }
  }

  try {
    // Broker with a durable stream store.
    const broker = await startBroker({
      host: '127.0.0.1',
      port: await choosePort(4222, '127.0.0.1', taken),
      monitorPort: await choosePort(8222, '127.0.0.1', taken),
      jetstream: { storeDir: join(dir, 'store') },
    })
    cleanups.push(() => broker.close())

    // Origins in three regions.
    const origins: OriginServer[] = []
    for (const spec of ORIGINS) origins.push(await startOrigin(spec))
    cleanups.push(async () => void (await Promise.all(origins.map((o) => o.close()))))

    // The proxy in front, publishing one event per request.
    const counters = new AccessCounters()
    const proxyPort = await choosePort(8080, '127.0.0.1', taken)
    const proxyAdminPort = await choosePort(9901, '127.0.0.1', taken)
    const yaml = demoProxyYaml(origins, { http: proxyPort, admin: proxyAdminPort }, join(dir, 'cache'))
    writeFileSync(join(dir, 'proxy.yaml'), yaml)
    const proxy = new ProxyServer({ config: parseProxyConfig(yaml, 'demo-proxy.yaml'), plugins: [...builtinPlugins, accessEventsPlugin(broker, counters)] })
    await proxy.start()
    cleanups.push(() => proxy.close())

    // Fan-out consumers: durable archiver (stock nats.js client), alerting queue group, dashboard.
    const archiver: Archiver = await startArchiver({ servers: broker.url, dir: join(dir, 'archive') })
    cleanups.push(() => archiver.close())
    const alerts: AlertGroup = startAlerts(broker, 2)
    cleanups.push(() => alerts.close())

    const sc = new Context({ workers: options.workers ?? 2, progress: false, scratchDir: join(dir, 'scratch') })
    cleanups.push(() => sc.stop())
    let analysis: AnalysisResult | undefined
    let jobs = 0
    let lastJob: NonNullable<DashboardSnapshot['mapreduce']>['lastJob']
    let jobRunning: Promise<void> | undefined
    const runAnalysis = async (): Promise<void> => {
      archiver.rotate()
      const t0 = Date.now()
      const before = sc.jobs().length
      const result = await analyseArchive(sc, archiver.files())
      jobs++
      analysis = result
      const stages = sc
        .jobs()
        .slice(before)
        .flatMap((j) => j.stages.map((s) => ({ id: s.stageId, name: `${j.action}: ${s.name}`, tasks: s.tasks, durationMs: s.ms, shuffleBytes: s.shuffleWriteBytes, spillBytes: s.spillBytes })))
      lastJob = {
        id: String(jobs),
        finishedAt: Date.now(),
        durationMs: Date.now() - t0,
        stages,
        results: {
          'top paths': result.topPaths,
          'status classes': result.statuses,
          'requests per region': result.regions,
          'latency per upstream (ms)': result.latency,
          'top rate-limited clients': result.limitedClients,
          'cache verdicts': result.cache,
        },
      }
      broker.publish('mapreduce.results.access', JSON.stringify({ job: jobs, ...result }))
    }

    const dashAdmin: AdminServer = await startAdminServer({ port: await choosePort(8088, '127.0.0.1', taken) })
    cleanups.push(() => dashAdmin.close())
    const brokerMonitor = broker.monitor?.url ?? ''
    const snapshot = (): DashboardSnapshot => ({
      time: Date.now(),
      title: 'Switchyard demo',
      proxy: proxySnapshot(proxy, counters),
      broker: brokerSnapshot(broker),
      mapreduce: { jobs, ...(lastJob === undefined ? {} : { lastJob }) },
      extra: { alerts: alerts.total },
    })
    const dash: DashboardMount = mountDashboard(dashAdmin, { snapshot })
    cleanups.push(() => dash.close())
    // The dashboard is one more fan-out subscriber: it sees every event, and forwards a sample.
    let liveBudget = 0
    const liveTimer = setInterval(() => (liveBudget = 20), 1000)
    cleanups.push(() => clearInterval(liveTimer))
    const liveSub = broker.subscribe('proxy.access.>', {}, (msg) => {
      if (dash.viewers > 0 && liveBudget-- > 0) dash.broadcast(`${msg.subject} ${Buffer.from(msg.data).toString()}`)
    })
    cleanups.push(() => liveSub.unsubscribe())

    const urls: DemoUrls = {
      dashboard: `${dashAdmin.url}/`,
      proxy: `http://127.0.0.1:${proxyPort}`,
      proxyAdmin: `http://127.0.0.1:${proxyAdminPort}`,
      broker: broker.url,
      brokerMonitor,
      dir,
    }
    out('Switchyard demo')
    out(`  dashboard      ${urls.dashboard}`)
    out(`  proxy          ${urls.proxy}   (admin ${urls.proxyAdmin})`)
    out(`  broker         ${urls.broker}   (monitor ${urls.brokerMonitor})`)
    out(`  origins        ${origins.map((o) => `${o.spec.id}=${o.port}`).join(' ')}`)
    out(`  working dir    ${dir}`)
    out(`  running for ${Math.round(options.durationMs / 1000)} s; Ctrl-C stops early`)
    options.onReady?.(urls)

    // Traffic, with one origin dying and coming back.
    const traffic: TrafficGenerator = startTraffic({ target: urls.proxy, scale: options.scale ?? 1 })
    const victim = origins[0] as OriginServer
    const timers: NodeJS.Timeout[] = []
    const events: string[] = []
    timers.push(
      setTimeout(() => {
        events.push(`${victim.spec.id} killed at ${Math.round((Date.now() - started) / 1000)} s`)
        out(`  !! killing origin ${victim.spec.id} to show failover`)
        void victim.kill()
      }, options.durationMs * 0.35),
    )
    timers.push(
      setTimeout(() => {
        events.push(`${victim.spec.id} revived at ${Math.round((Date.now() - started) / 1000)} s`)
        out(`  !! origin ${victim.spec.id} is back`)
        void victim.revive()
      }, options.durationMs * 0.65),
    )
    timers.push(
      setInterval(() => {
        if (jobRunning === undefined) jobRunning = runAnalysis().catch((err: unknown) => out(`  mapreduce job failed: ${String(err)}`)).finally(() => (jobRunning = undefined))
      }, jobEveryMs),
    )
    timers.push(setInterval(() => out(progressLine(Date.now() - started, counters, traffic.stats, alerts.total, archiver.written, jobs)), reportEveryMs))

    await Promise.race([new Promise((r) => setTimeout(r, options.durationMs)), options.stopSignal ?? new Promise(() => {})])
    for (const t of timers) clearTimeout(t)
    out('  stopping traffic, draining the archive, running the final job...')
    await traffic.stop()
    await victim.revive()
    const drained = await archiver.drain(15_000)
    await jobRunning
    await runAnalysis()
    const archiveLines = archiver.files().reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').length, 0)
    const perServer: Record<string, number> = {}
    for (const pool of proxy.generation.pools.values()) for (const s of pool.servers) perServer[s.id] = s.totals.requests
    const final = analysis as AnalysisResult
    const summary: DemoSummary = {
      seconds: (Date.now() - started) / 1000,
      proxyServed: counters.requests,
      trafficSent: traffic.stats.sent,
      trafficAnswered: traffic.stats.answered,
      trafficErrors: traffic.stats.errors,
      statusClasses: counters.statusClasses,
      byStatus: traffic.stats.byStatus,
      perServer,
      perRegion: counters.regions,
      cache: counters.cache,
      limited: counters.limited,
      alerts: alerts.total,
      alertsPerMember: [...alerts.perMember],
      archived: archiver.written,
      archiveLines,
      archiveDrained: drained,
      jobs,
      analysis: final,
      events,
      dir,
    }
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2))
    for (const line of finalSummary(summary)) out(line)
    return summary
  } finally {
    await cleanup()
  }
}
