// Test helper for the cache suites: an origin whose answer per path is a script (raw header lists,
// so duplicates and odd values reach the proxy as written; or a dropped connection), a proxy with
// the builtin plugins in front of it, and the proxy's access-log lines.
import type { TestContext } from 'node:test'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { builtinPlugins } from '../../../src/proxy/plugins.js'
import type { ProxyConfigInput } from '../../../src/proxy/index.js'
import { backend, startProxy, waitFor, type Backend } from '../_helpers.js'

export interface Reply {
  status?: number
  /** Raw header list: each pair is sent as its own field line, in order. */
  headers?: [string, string][]
  body?: string
  /** Close the connection without answering. */
  disconnect?: boolean
}

export type Script = (req: IncomingMessage, n: number) => Reply

export interface Origin {
  backend: Backend
  hits(path: string): number
  reqs(path: string): IncomingMessage[]
}

export async function scriptedOrigin(t: TestContext, scripts: Record<string, Script>, name = 'origin'): Promise<Origin> {
  const seen = new Map<string, IncomingMessage[]>()
  const b = await backend(t, name, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] as string
    const list = seen.get(path) ?? []
    list.push(req)
    seen.set(path, list)
    req.resume()
    const s = scripts[path]
    const r: Reply = s === undefined ? { status: 404, body: 'none' } : s(req, list.length)
    if (r.disconnect === true) {
      req.socket.destroy()
      return
    }
    const body = r.body ?? ''
    const flat: string[] = []
    let hasDate = false
    for (const [k, v] of r.headers ?? []) {
      if (k.toLowerCase() === 'date') hasDate = true
      flat.push(k, v)
    }
    if (!hasDate) flat.push('date', new Date().toUTCString())
    flat.push('content-length', String(Buffer.byteLength(body)))
    res.writeHead(r.status ?? 200, flat)
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  return { backend: b, hits: (p) => seen.get(p)?.length ?? 0, reqs: (p) => seen.get(p) ?? [] }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  xcache: string | undefined
}

export interface CacheProxy {
  url: string
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Answer>
  /** Access-log records written so far. */
  logs: Record<string, unknown>[]
  /** Waits until `n` access-log records were written. */
  waitLogs(n: number): Promise<void>
  /** Admin API base URL when the config has `admin`. */
  admin: string | undefined
}

/** A proxy with the builtin plugins; default: one pool `app` on `origin`, one route with `cache: true`. */
export async function cacheProxy(t: TestContext, origin: Origin | undefined, input: Partial<ProxyConfigInput> = {}): Promise<CacheProxy> {
  const out = new PassThrough()
  const logs: Record<string, unknown>[] = []
  let partial = ''
  out.on('data', (c: Buffer) => {
    const text = partial + c.toString()
    const lines = text.split('\n')
    partial = lines.pop() ?? ''
    for (const l of lines) if (l !== '') logs.push(JSON.parse(l) as Record<string, unknown>)
  })
  const { url, proxy } = await startProxy(
    t,
    {
      listeners: [{ port: 0, address: '127.0.0.1' }],
      ...(origin === undefined ? {} : { pools: { app: { servers: [origin.backend.url] } }, routes: [{ pool: 'app', cache: true }] }),
      cache: {},
      accessLog: { enabled: true },
      ...input,
    } as ProxyConfigInput,
    { plugins: builtinPlugins, accessLogStream: out },
  )
  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> => {
    const r = await request(`${url}${path}`, { method: method as 'GET', headers })
    const body = await r.body.text()
    return { status: r.statusCode, headers: r.headers, body, xcache: r.headers['x-cache'] as string | undefined }
  }
  const waitLogs = (n: number) => waitFor(() => logs.length >= n, 5000, `${n} access-log lines`)
  return { url, get, logs, waitLogs, admin: proxy.admin?.url }
}

/** An HTTP date `seconds` from now (negative: in the past). */
export function httpDate(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toUTCString()
}
