// Demo origin services: small HTTP apps standing in for a team's real backends, one group per
// region. Some routes are cacheable, some are private, one fails now and then, and every server
// can be killed and revived to show failover.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createHash } from 'node:crypto'

export interface OriginSpec {
  id: string
  region: string
  /** Added to every response's latency, in ms, to make regions differ. */
  baseLatencyMs: number
  /** Fraction of /api/recommendations requests answered with 503. */
  failureRate: number
}

export interface OriginServer {
  readonly spec: OriginSpec
  readonly port: number
  readonly url: string
  /** Requests this server answered (any status). */
  readonly served: number
  readonly up: boolean
  /** Stops listening and drops every open connection, like a crashed process. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  revive(): Promise<void>
  close(): Promise<void>
}

const STATIC_BODY = 'x'.repeat(2048)

function jitter(base: number, spread: number): number {
  return base + Math.random() * spread
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

function handle(spec: OriginSpec, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://origin')
  const common = { 'x-origin': spec.id, 'x-origin-region': spec.region }
  const path = url.pathname
  const later = (ms: number, fn: () => void): void => {
    setTimeout(fn, spec.baseLatencyMs + ms)
  }
  if (path === '/healthz') return send(res, 200, common, '{"ok":true}')
  if (path.startsWith('/static/')) {
    const etag = `"${createHash('sha1').update(path).digest('hex').slice(0, 16)}"`
    if (req.headers['if-none-match'] === etag) {
      return later(jitter(2, 4), () => {
        res.writeHead(304, { ...common, etag, 'cache-control': 'public, max-age=30' })
        res.end()
      })
    }
    return later(jitter(5, 10), () =>
      send(res, 200, { ...common, etag, 'cache-control': 'public, max-age=30' }, JSON.stringify({ file: path, data: STATIC_BODY })),
    )
  }
  if (path.startsWith('/api/products/')) {
    const id = path.slice('/api/products/'.length)
    return later(jitter(10, 30), () =>
      send(res, 200, { ...common, 'cache-control': 'public, max-age=5' }, JSON.stringify({ id, name: `Product ${id}`, price: (id.length * 7.3).toFixed(2) })),
    )
  }
  if (path === '/api/cart') {
    return later(jitter(20, 40), () => send(res, 200, { ...common, 'cache-control': 'private, no-store' }, JSON.stringify({ items: 3, total: '42.00' })))
  }
  if (path === '/api/search') {
    return later(jitter(40, 80), () =>
      send(res, 200, { ...common, 'cache-control': 'no-cache' }, JSON.stringify({ q: url.searchParams.get('q'), hits: 17 })),
    )
  }
  if (path === '/api/recommendations') {
    const fail = Math.random() < spec.failureRate
    return later(jitter(15, 30), () =>
      fail
        ? send(res, 503, { ...common, 'cache-control': 'no-store' }, '{"error":"recommendation engine overloaded"}')
        : send(res, 200, { ...common, 'cache-control': 'no-store' }, '{"items":["a","b","c"]}'),
    )
  }
  if (path === '/api/orders' && req.method === 'POST') {
    req.resume()
    req.on('end', () => later(jitter(30, 50), () => send(res, 201, { ...common, 'cache-control': 'no-store' }, '{"order":"created"}')))
    return
  }
  send(res, 404, common, '{"error":"not found"}')
}

export async function startOrigin(spec: OriginSpec, port = 0): Promise<OriginServer> {
  let served = 0
  let server: Server | undefined
  const sockets = new Set<Socket>()
  let boundPort = port

  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      served++
      handle(spec, req, res)
    })
    s.keepAliveTimeout = 30_000
    s.on('connection', (sock: Socket) => {
      sockets.add(sock)
      sock.on('close', () => sockets.delete(sock))
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(boundPort, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    boundPort = (s.address() as AddressInfo).port
    server = s
  }
  const stop = async (): Promise<void> => {
    const s = server
    if (s === undefined) return
    server = undefined
    for (const sock of sockets) sock.destroy()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  await listen()
  return {
    spec,
    get port() {
      return boundPort
    },
    get url() {
      return `http://127.0.0.1:${boundPort}`
    },
    get served() {
      return served
    },
    get up() {
      return server !== undefined
    },
    kill: stop,
    revive: async () => {
      if (server === undefined) await listen()
    },
    close: stop,
  }
}
