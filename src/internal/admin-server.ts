// Admin HTTP server used by every subsystem: /healthz, /metrics (Prometheus text) and JSON status
// routes that subsystems register. Unknown paths get 404; handler failures get 500, never a crash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
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

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.local')
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
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
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
