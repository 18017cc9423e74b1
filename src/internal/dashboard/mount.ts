// Mounts the live dashboard on an admin server: the page at /dashboard/ (and / when free), uPlot's
// files, the snapshot route the page polls, and optionally a WebSocket feed of live events.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { WebSocket, WebSocketServer } from 'ws'
import { sendJson, type AdminServer } from '../admin-server.js'
import { DASHBOARD_HTML } from './page.js'
import type { DashboardSnapshot } from './snapshot.js'

export interface DashboardMount {
  /** Sends one event line to every connected page (no-op when live is off). */
  broadcast(line: string): void
  readonly viewers: number
  close(): void
}

export interface MountDashboardOptions {
  snapshot: () => DashboardSnapshot | Promise<DashboardSnapshot>
  /** Accept WebSocket viewers at /dashboard/live. Default true. */
  live?: boolean
  /** Also serve the page at `/`. Default true. */
  root?: boolean
}

let uplotFiles: { js: string; css: string } | undefined

function uplot(): { js: string; css: string } {
  if (uplotFiles === undefined) {
    const require = createRequire(import.meta.url)
    const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'))
    uplotFiles = {
      js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8'),
    }
  }
  return uplotFiles
}

export function mountDashboard(admin: AdminServer, options: MountDashboardOptions): DashboardMount {
  const page = (contentType: string, body: string) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' })
    res.end(body)
  }
  admin.route('GET', '/dashboard/', page('text/html; charset=utf-8', DASHBOARD_HTML))
  admin.route('GET', '/dashboard', page('text/html; charset=utf-8', DASHBOARD_HTML))
  if (options.root ?? true) admin.route('GET', '/', page('text/html; charset=utf-8', DASHBOARD_HTML))
  admin.route('GET', '/dashboard/uplot.js', (req, res) => page('text/javascript; charset=utf-8', uplot().js)(req, res))
  admin.route('GET', '/dashboard/uplot.css', (req, res) => page('text/css; charset=utf-8', uplot().css)(req, res))
  admin.route('GET', '/dashboard/snapshot.json', async (_req, res) => sendJson(res, 200, await options.snapshot()))

  const viewers = new Set<WebSocket>()
  let wss: WebSocketServer | undefined
  if (options.live ?? true) {
    // `ws` only for a live feed: the broker's CLI mounts the page without one (issue #16, RSS).
    const { WebSocketServer: Server } = createRequire(import.meta.url)('ws') as typeof import('ws')
    wss = new Server({ noServer: true, maxPayload: 4096 })
    admin.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/dashboard/live') {
        socket.destroy()
        return
      }
      wss?.handleUpgrade(req, socket, head, (ws) => {
        viewers.add(ws)
        ws.on('close', () => viewers.delete(ws))
        ws.on('error', () => viewers.delete(ws))
      })
    })
  }
  return {
    broadcast(line) {
      for (const ws of viewers) {
        // A viewer that does not keep up is skipped rather than buffered without bound.
        if (ws.readyState === ws.OPEN && ws.bufferedAmount < 1 << 20) ws.send(line)
      }
    },
    get viewers() {
      return viewers.size
    },
    close() {
      for (const ws of viewers) ws.terminate()
      wss?.close()
    },
  }
}
