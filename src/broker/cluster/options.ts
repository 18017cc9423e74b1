// Cluster (route) options: what startBroker({ cluster }) accepts and how it is checked. No cluster
// option means no cluster listener, no routes and no extra work on the publish path.
import { networkInterfaces } from 'node:os'
import { BrokerError, BrokerErrorCodes } from '../errors.js'

export type RouteAuthorization = { user: string; password: string } | { token: string }

export interface ClusterOptions {
  /** Cluster name; every node (Switchyard or nats-server) of one cluster must use the same. */
  name: string
  /** Route listener host; defaults to the broker's host. */
  host?: string
  /** Route listener port; 0 picks a free port. */
  port: number
  /** Routes to solicit: `nats-route://[user:pass@]host:port` (or `nats://`). */
  routes?: string[]
  /** Credentials that peers must send in their route CONNECT. */
  authorization?: RouteAuthorization
  /** First delay before re-dialling a route that failed or dropped; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number
  maxRetryDelayMs?: number
}

export interface ResolvedClusterOptions {
  name: string
  host: string | undefined
  port: number
  routes: string[]
  authorization: RouteAuthorization | undefined
  retryDelayMs: number
  maxRetryDelayMs: number
}

export const CLUSTER_DEFAULTS = {
  retryDelayMs: 250, // first re-dial after 250 ms
  maxRetryDelayMs: 5_000, // then doubling up to 5 s (nats-server re-dials every 1 s)
} as const

const KNOWN_KEYS = new Set(['name', 'host', 'port', 'routes', 'authorization', 'retryDelayMs', 'maxRetryDelayMs'])

function bad(message: string): never {
  throw new BrokerError(BrokerErrorCodes.OPTIONS, message)
}

/** Parses one route URL; returns host, port and credentials, or throws ERR_BROKER_OPTIONS. */
export function parseRouteUrl(text: string): { host: string; port: number; user: string; pass: string } {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    bad(`Cannot use route ${JSON.stringify(text)}: not a URL; expected nats-route://HOST:PORT`)
  }
  if (u.protocol !== 'nats-route:' && u.protocol !== 'nats:') bad(`Cannot use route ${JSON.stringify(text)}: expected the nats-route:// or nats:// scheme`)
  const port = Number(u.port)
  if (u.port === '' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`Cannot use route ${JSON.stringify(text)}: expected an explicit port from 1 to 65535`)
  if (u.hostname === '') bad(`Cannot use route ${JSON.stringify(text)}: no host`)
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { host, port, user: decodeURIComponentSafe(u.username), pass: decodeURIComponentSafe(u.password) }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function int(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) bad(`Cannot use cluster.${name} ${String(value)}: expected an integer from ${min} to ${max}`)
  return value
}

export function resolveClusterOptions(c: ClusterOptions): ResolvedClusterOptions {
  if (typeof c !== 'object' || c === null) bad('Cannot use cluster: expected an object with name and port')
  // An option this version does not act on (tls, leafnodes ...) is refused, never silently ignored.
  for (const key of Object.keys(c)) if (!KNOWN_KEYS.has(key)) bad(`Cannot use cluster.${key}: not supported (known: ${[...KNOWN_KEYS].join(', ')})`)
  if (typeof c.name !== 'string' || c.name === '' || /[\s]/.test(c.name)) bad(`Cannot use cluster.name ${JSON.stringify(c.name)}: a non-empty name without whitespace is required (Switchyard does not pick dynamic cluster names)`)
  const routes = [...(c.routes ?? [])]
  for (const r of routes) parseRouteUrl(r)
  let authorization: RouteAuthorization | undefined
  const a = c.authorization as Record<string, unknown> | undefined
  if (a !== undefined) {
    if ('token' in a) {
      if (typeof a.token !== 'string' || a.token === '' || 'user' in a || 'password' in a) bad('Cannot use cluster.authorization: a token must be a non-empty string and comes alone, without user/password')
      authorization = { token: a.token }
    } else {
      if (typeof a.user !== 'string' || a.user === '' || typeof a.password !== 'string') bad('Cannot use cluster.authorization: expected {user, password} or {token}')
      authorization = { user: a.user, password: a.password }
    }
  }
  const retryDelayMs = int('retryDelayMs', c.retryDelayMs ?? CLUSTER_DEFAULTS.retryDelayMs, 10, 60_000)
  return {
    name: c.name,
    host: c.host,
    port: int('port', c.port, 0, 65535),
    routes,
    authorization,
    retryDelayMs,
    maxRetryDelayMs: int('maxRetryDelayMs', c.maxRetryDelayMs ?? Math.max(retryDelayMs, CLUSTER_DEFAULTS.maxRetryDelayMs), retryDelayMs, 600_000),
  }
}

/** `host:port` strings for clients (INFO connect_urls), as nats-server lists them. */
export function clientUrls(host: string, port: number): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`]
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') out.push(`${a.address}:${port}`)
  return out.length > 0 ? out : [`127.0.0.1:${port}`]
}
