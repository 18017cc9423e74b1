// Demo traffic generator: simulated clients in several parts of the world (their address carried in
// X-Forwarded-For, which the demo proxy trusts from loopback) plus one abusive client that hammers
// the search route and gets rate-limited. Bounded: it stops at its deadline or when stopped.
import { Pool } from 'undici'

export interface SimClient {
  name: string
  /** Public address the proxy sees through X-Forwarded-For; its GeoIP country places it. */
  ip: string
  /** Requests per second this client sends. */
  rate: number
  abusive?: boolean
}

/** Addresses checked against the bundled GeoIP data (country in the comment). */
export const DEFAULT_CLIENTS: readonly SimClient[] = [
  { name: 'berlin', ip: '5.9.10.10', rate: 14 }, // DE
  { name: 'paris', ip: '62.210.0.1', rate: 10 }, // FR
  { name: 'london', ip: '81.2.69.160', rate: 10 }, // GB
  { name: 'virginia', ip: '8.8.8.8', rate: 14 }, // US
  { name: 'montreal', ip: '24.48.0.1', rate: 8 }, // CA
  { name: 'sao-paulo', ip: '200.160.2.3', rate: 6 }, // BR
  { name: 'tokyo', ip: '133.242.0.1', rate: 10 }, // JP
  { name: 'singapore', ip: '103.4.96.1', rate: 8 }, // SG
  { name: 'sydney', ip: '110.33.0.1', rate: 6 }, // AU
  { name: 'scraper', ip: '77.88.8.8', rate: 60, abusive: true }, // RU, hammers /api/search
]

interface Route {
  method: 'GET' | 'POST'
  path: () => string
  weight: number
}

const ROUTES: readonly Route[] = [
  { method: 'GET', path: () => `/static/app-${1 + Math.floor(Math.random() * 8)}.js`, weight: 35 },
  { method: 'GET', path: () => `/api/products/${1 + Math.floor(Math.random() * 20)}`, weight: 30 },
  { method: 'GET', path: () => '/api/cart', weight: 10 },
  { method: 'GET', path: () => `/api/search?q=${['shoes', 'hats', 'socks'][Math.floor(Math.random() * 3)]}`, weight: 10 },
  { method: 'GET', path: () => '/api/recommendations', weight: 10 },
  { method: 'POST', path: () => '/api/orders', weight: 5 },
]
const TOTAL_WEIGHT = ROUTES.reduce((s, r) => s + r.weight, 0)

function pickRoute(): Route {
  let x = Math.random() * TOTAL_WEIGHT
  for (const r of ROUTES) {
    x -= r.weight
    if (x < 0) return r
  }
  return ROUTES[0] as Route
}

export interface TrafficStats {
  sent: number
  answered: number
  errors: number
  byStatus: Record<string, number>
  byClient: Record<string, { sent: number; limited: number }>
}

export interface TrafficGenerator {
  readonly stats: TrafficStats
  stop(): Promise<void>
}

export interface TrafficOptions {
  target: string
  clients?: readonly SimClient[]
  /** Multiplies every client's rate. */
  scale?: number
  maxInFlight?: number
}

export function startTraffic(options: TrafficOptions): TrafficGenerator {
  const clients = options.clients ?? DEFAULT_CLIENTS
  const scale = options.scale ?? 1
  const maxInFlight = options.maxInFlight ?? 64
  const pool = new Pool(options.target, { connections: 16, keepAliveTimeout: 10_000 })
  const stats: TrafficStats = { sent: 0, answered: 0, errors: 0, byStatus: {}, byClient: {} }
  for (const c of clients) stats.byClient[c.name] = { sent: 0, limited: 0 }
  const credit = new Map<string, number>(clients.map((c) => [c.name, 0]))
  let inFlight = 0
  let stopped = false
  const pending = new Set<Promise<void>>()
  const tickMs = 20
  let last = Date.now()

  const fire = (client: SimClient): void => {
    const route = client.abusive ? ROUTES[3]! : pickRoute()
    const path = route.path()
    inFlight++
    stats.sent++
    const per = stats.byClient[client.name]!
    per.sent++
    const p = pool
      .request({
        method: route.method,
        path,
        headers: { 'x-forwarded-for': client.ip, 'user-agent': `switchyard-demo/${client.name}`, ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(route.method === 'POST' ? { body: '{"sku":"demo"}' } : {}),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      })
      .then(async (res) => {
        await res.body.dump()
        stats.answered++
        const key = String(res.statusCode)
        stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1
        if (res.statusCode === 429) per.limited++
      })
      .catch(() => {
        stats.errors++
      })
      .finally(() => {
        inFlight--
        pending.delete(p)
      })
    pending.add(p)
  }

  const timer = setInterval(() => {
    if (stopped) return
    const now = Date.now()
    const dt = (now - last) / 1000
    last = now
    for (const c of clients) {
      let cr = (credit.get(c.name) ?? 0) + c.rate * scale * dt
      while (cr >= 1 && inFlight < maxInFlight) {
        cr -= 1
        fire(c)
      }
      credit.set(c.name, Math.min(cr, c.rate * scale))
    }
  }, tickMs)

  return {
    stats,
    async stop() {
      stopped = true
      clearInterval(timer)
      await Promise.allSettled([...pending])
      await pool.close()
    },
  }
}
