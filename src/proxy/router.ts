// Route table: first route (in config order) whose host, path prefix / regex, method and header
// conditions all hold. Also applies a route's path rewrite.
import type { ProxyConfig, RouteConfig } from './config.js'

type HeaderGetter = (name: string) => string | undefined

export interface CompiledRoute {
  readonly name: string
  readonly index: number
  readonly config: RouteConfig
  readonly pool: string
  matches(host: string, path: string, method: string, header: HeaderGetter): boolean
  rewrite(path: string): string
}

function hostMatcher(spec: string | readonly string[] | undefined): ((host: string) => boolean) | undefined {
  if (spec === undefined) return undefined
  const list = (typeof spec === 'string' ? [spec] : spec).map((h) => h.toLowerCase())
  const exact = new Set(list.filter((h) => !h.startsWith('*.')))
  const suffixes = list.filter((h) => h.startsWith('*.')).map((h) => h.slice(1))
  return (host) => exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length)
}

function headerMatcher(spec: Readonly<Record<string, string>> | undefined): ((get: HeaderGetter) => boolean) | undefined {
  if (spec === undefined) return undefined
  const checks = Object.entries(spec).map(([name, value]): [string, (v: string | undefined) => boolean] => {
    const n = name.toLowerCase()
    if (value === '*') return [n, (v) => v !== undefined]
    if (value.length > 1 && value.startsWith('/') && value.endsWith('/')) {
      const re = new RegExp(value.slice(1, -1))
      return [n, (v) => v !== undefined && re.test(v)]
    }
    return [n, (v) => v === value]
  })
  return (get) => checks.every(([n, f]) => f(get(n)))
}

export function compileRoute(config: RouteConfig, index: number): CompiledRoute {
  const m = config.match
  const host = hostMatcher(m.host)
  const prefix = m.pathPrefix
  const regex = m.pathRegex === undefined ? undefined : new RegExp(m.pathRegex)
  const methods = m.methods === undefined ? undefined : new Set(m.methods)
  const headers = headerMatcher(m.headers)
  const rw = config.rewrite
  const rwRegex = rw?.regex === undefined ? undefined : new RegExp(rw.regex)
  const needsRewrite = rw !== undefined && (rw.stripPrefix !== undefined || rw.addPrefix !== undefined || rwRegex !== undefined)
  return {
    name: config.name ?? `route${index}`,
    index,
    config,
    pool: config.pool,
    matches(h, path, method, header) {
      if (host !== undefined && !host(h)) return false
      if (prefix !== undefined && !path.startsWith(prefix)) return false
      if (methods !== undefined && !methods.has(method)) return false
      if (regex !== undefined) {
        const q = path.indexOf('?')
        if (!regex.test(q < 0 ? path : path.slice(0, q))) return false
      }
      if (headers !== undefined && !headers(header)) return false
      return true
    },
    rewrite(path) {
      if (!needsRewrite || rw === undefined) return path
      const q = path.indexOf('?')
      let p = q < 0 ? path : path.slice(0, q)
      const query = q < 0 ? '' : path.slice(q)
      if (rw.stripPrefix !== undefined && p.startsWith(rw.stripPrefix)) {
        p = p.slice(rw.stripPrefix.length)
        if (!p.startsWith('/')) p = `/${p}`
      }
      if (rwRegex !== undefined) p = p.replace(rwRegex, rw.replacement ?? '')
      if (rw.addPrefix !== undefined) p = rw.addPrefix.replace(/\/$/, '') + p
      return p + query
    },
  }
}

export class Router {
  readonly routes: readonly CompiledRoute[]

  constructor(config: ProxyConfig) {
    // A config without routes has its implicit `default` route in config.routes (config.ts).
    this.routes = config.routes.map((r, i) => compileRoute(r, i))
  }

  match(host: string, path: string, method: string, header: HeaderGetter): CompiledRoute | undefined {
    for (const r of this.routes) if (r.matches(host, path, method, header)) return r
    return undefined
  }
}
