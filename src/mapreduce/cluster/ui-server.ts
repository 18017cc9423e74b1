// The coordinator's job UI and JSON API: workers with health, drivers with their jobs, stages (with
// the DAG), tasks with timings and attempts. Every route except /healthz needs the UI token (128
// random bits drawn at each start, replaced by rotateToken()), as `Authorization: Bearer`,
// `?token=` or the cookie the latter sets.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendJson, startAdminServer, type AdminServer } from '../../internal/admin-server.js'
import type { Coordinator } from './coordinator.js'
import { UI_HTML } from './ui-page.js'

export interface ClusterUi {
  readonly url: string
  readonly port: number
  /** The token in force; rotateToken() replaces it. */
  readonly token: string
  /** Draws a new token: the old one (and cookies holding it) stops working at once. */
  rotateToken(): string
  close(): Promise<void>
}

/** A fresh UI token. Not derived from the secret: it is printed and pasted, so it must be revocable. */
export function newUiToken(): string {
  return randomBytes(16).toString('hex')
}

function presented(req: IncomingMessage, url: URL): string {
  const auth = req.headers.authorization
  // The scheme name is case-insensitive (RFC 7235 section 2.1): "bearer" is "Bearer".
  const bearer = typeof auth === 'string' ? /^bearer[ \t]+(.*)$/i.exec(auth) : null
  if (bearer !== null) return (bearer[1] as string).trim()
  const q = url.searchParams.get('token')
  if (q !== null) return q
  const cookie = req.headers.cookie ?? ''
  const m = /(?:^|;\s*)sy_ui=([0-9a-f]+)/.exec(cookie)
  return m?.[1] ?? ''
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** What the page needs: the coordinator, or a local Context's job list. */
interface StatusSource {
  snapshot(): unknown
  workers(): unknown
  drivers(): unknown
}

export async function startClusterUi(coordinator: Coordinator, options: { host?: string; port?: number; token?: string } = {}): Promise<ClusterUi> {
  return serveUi(coordinator, options.token ?? newUiToken(), options)
}

/**
 * The same UI for a local-mode Context (`startLocalUi(ctx)`): its jobs, stages and DAG. The token
 * is random unless given; it is printed by the caller.
 */
export async function startLocalUi(ctx: { jobs(): unknown }, options: { host?: string; port?: number; token?: string } = {}): Promise<ClusterUi> {
  const started = Date.now()
  const drivers = (): unknown => [{ id: 'local', app: 'local mode', connectedAt: started, status: { jobs: ctx.jobs(), tasks: [] } }]
  const source: StatusSource = {
    workers: () => [],
    drivers,
    snapshot: () => ({
      url: 'local mode',
      startedAt: started,
      now: Date.now(),
      counters: { workersRegistered: 0, workersLost: 0, staleEventsIgnored: 0, authFailures: 0, tasksLaunched: 0, blobsServed: 0 },
      workers: [],
      drivers: drivers(),
    }),
  }
  return serveUi(source, options.token ?? newUiToken(), options)
}

async function serveUi(coordinator: StatusSource, initialToken: string, options: { host?: string; port?: number }): Promise<ClusterUi> {
  let token = initialToken
  const admin: AdminServer = await startAdminServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  const guard = (handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void) => (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const t = presented(req, url)
    if (!same(t, token)) {
      sendJson(res, 401, { error: 'unauthorized: pass the UI token as "Authorization: Bearer <token>" or ?token=' })
      return
    }
    if (url.searchParams.has('token')) res.setHeader('set-cookie', `sy_ui=${t}; HttpOnly; SameSite=Strict; Path=/`)
    handler(req, res, url)
  }
  admin.route(
    'GET',
    '/',
    guard((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" })
      res.end(UI_HTML)
    }),
  )
  admin.route('GET', '/api/status', guard((_req, res) => sendJson(res, 200, coordinator.snapshot())))
  admin.route('GET', '/api/workers', guard((_req, res) => sendJson(res, 200, coordinator.workers())))
  admin.route('GET', '/api/jobs', guard((_req, res) => sendJson(res, 200, coordinator.drivers())))
  return {
    url: admin.url,
    port: admin.port,
    get token() {
      return token
    },
    rotateToken() {
      token = newUiToken()
      return token
    },
    close: () => admin.close(),
  }
}
