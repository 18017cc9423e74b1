// The cache's admin API: purge by URL or prefix, and the store's size.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpCache } from './http-cache.js'

export const adminTargets = new WeakMap<object, { cache: HttpCache }>()

interface AdminLike {
  route(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>): void
}

/** Admin purge: `POST /proxy/cache/purge?url=<absolute url>` or `?prefix=<absolute url prefix>`. */
export function registerAdmin(admin: AdminLike, cache: () => HttpCache): void {
  const handler = (_req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const u = url.searchParams.get('url')
    const p = url.searchParams.get('prefix')
    let purged = 0
    if (u !== null) purged = cache().purgeUrl(u)
    else if (p !== null) purged = cache().purgePrefix(p)
    else {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'give ?url=<absolute url> or ?prefix=<absolute url prefix>' }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ purged }))
  }
  admin.route('POST', '/proxy/cache/purge', handler)
  admin.route('GET', '/proxy/cache', (_req, res) => {
    const s = cache().store
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ variants: s.variantCount, memoryBytes: s.memoryBytes, diskBytes: s.diskBytes }))
  })
}
