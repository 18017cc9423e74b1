// Admin HTTP server used by every subsystem: /healthz, /metrics (Prometheus text) and JSON status
// routes that subsystems register. Unknown paths get 404; handler failures get 500, never a crash.
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { InternalErrorCodes, SwitchyardError } from './errors.js'

export type JsonRouteHandler = (req: IncomingMessage, url: URL) => unknown | Promise<unknown>
export type RawRouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>
export type HealthCheck = () => boolean | { ok: boolean; detail?: unknown } | Promise<boolean | { ok: boolean; detail?: unknown }>

export interface AdminServerOptions {
  host?: string
  /** 0 picks a free port. */
  port?: number
  registry?: Registry
  /** Extra health checks; /healthz is 503 when any reports not ok. */
  health?: Record<string, HealthCheck>
  /** Every route but /healthz then needs `Authorization: Bearer <token>`. */
  token?: string
  /**
   * Browser-facing checks against CSRF and DNS rebinding: the Host must be a loopback name, the
   * bound address or one of `allowedHosts`, and a request carrying Origin must come from such a
   * host; binding beyond loopback without a token is refused. Opt-in (the proxy's admin API).
   */
  strict?: boolean
  allowedHosts?: readonly string[]
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.') || host === '::ffff:127.0.0.1'
}

/** The host part of a Host header or an Origin's authority, lower case, without the port. */
function hostPart(authority: string): string {
  const a = authority.toLowerCase()
  if (a.startsWith('[')) return a.slice(0, a.indexOf(']') + 1)
  const colon = a.indexOf(':')
  return colon < 0 ? a : a.slice(0, colon)
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false
  const given = Buffer.from(header.slice(7).trim())
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

export interface AdminServer {
  readonly server: Server
  readonly port: number
  readonly url: string
  /** A GET route whose handler's return value is sent as JSON. A path ending in `/*` matches a prefix. */
  json(path: string, handler: JsonRouteHandler): void
  /** A route with full control over the response, for any method (`*` matches all). */
  route(method: string, path: string, handler: RawRouteHandler): void
  addHealthCheck(name: string, check: HealthCheck): void
  close(): Promise<void>
}

interface Route {
  method: string
  path: string
  prefix: boolean
  handler: RawRouteHandler
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

export async function startAdminServer(options: AdminServerOptions = {}): Promise<AdminServer> {
  const routes: Route[] = []
  const health = new Map<string, HealthCheck>(Object.entries(options.health ?? {}))
  const registry = options.registry

  const find = (method: string, pathname: string): Route | undefined => {
    let best: Route | undefined
    for (const r of routes) {
      if (r.method !== '*' && r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue
      if (r.prefix ? pathname.startsWith(r.path) : pathname === r.path) {
        if (best === undefined || r.path.length > best.path.length) best = r
      }
    }
    return best
  }

  const addRoute = (method: string, path: string, handler: RawRouteHandler): void => {
    const prefix = path.endsWith('/*')
    const clean = prefix ? path.slice(0, -1) : path
    if (routes.some((r) => r.method === method && r.path === clean && r.prefix === prefix)) {
      throw new SwitchyardError(InternalErrorCodes.ADMIN_ROUTE_EXISTS, `Cannot add admin route: ${method} "${path}" is already registered`)
    }
    routes.push({ method, path: clean, prefix, handler })
  }

  addRoute('GET', '/healthz', async (_req, res) => {
    const checks: Record<string, unknown> = {}
    let ok = true
    for (const [name, check] of health) {
      try {
        const r = await check()
        const item = typeof r === 'boolean' ? { ok: r } : r
        checks[name] = item
        if (!item.ok) ok = false
      } catch (err) {
        ok = false
        checks[name] = { ok: false, detail: String(err) }
      }
    }
    sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unhealthy', checks })
  })
  if (registry !== undefined) {
    addRoute('GET', '/metrics', async (_req, res) => {
      const text = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) })
      res.end(text)
    })
  }

  const bindHost = options.host ?? '127.0.0.1'
  if (options.strict === true && (options.token === undefined || options.token === '') && !isLoopback(bindHost)) {
    throw new SwitchyardError(InternalErrorCodes.ADMIN_INSECURE, `Cannot start admin API on ${JSON.stringify(bindHost)}: binding beyond loopback needs a token (admin.token)`)
  }
  const allowed = new Set([...LOOPBACK_NAMES, bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost, ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())])
  // Bound to a wildcard address: any IP literal of this machine is a legitimate Host.
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::'
  const hostAllowed = (authority: string): boolean => {
    const h = hostPart(authority)
    return allowed.has(h) || (wildcard && isIP(h.replace(/^\[|\]$/g, '')) !== 0)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.local')
    if (options.strict === true) {
      const origin = req.headers.origin
      let originHost: string | undefined
      try {
        originHost = origin === undefined || origin === 'null' ? origin : new URL(origin).host
      } catch {
        originHost = 'invalid'
      }
      if (!hostAllowed(req.headers.host ?? '') || (originHost !== undefined && (originHost === 'null' || !hostAllowed(originHost)))) {
        sendJson(res, 403, { error: 'Host or Origin not allowed for the admin API', code: InternalErrorCodes.ADMIN_FORBIDDEN })
        return
      }
    }
    if (options.token !== undefined && options.token !== '' && url.pathname !== '/healthz' && !tokenMatches(req.headers.authorization, options.token)) {
      res.setHeader('www-authenticate', 'Bearer')
      sendJson(res, 401, { error: 'admin API token required (Authorization: Bearer <token>)', code: InternalErrorCodes.ADMIN_UNAUTHORIZED })
      return
    }
    const route = find(req.method ?? 'GET', url.pathname)
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found', path: url.pathname })
      return
    }
    Promise.resolve()
      .then(() => route.handler(req, res, url))
      .catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) })
        else res.destroy()
      })
  })
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address

  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}`,
    json(path, handler) {
      addRoute('GET', path, async (req, res, url) => sendJson(res, 200, await handler(req, url)))
    },
    route: addRoute,
    addHealthCheck(name, check) {
      health.set(name, check)
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
