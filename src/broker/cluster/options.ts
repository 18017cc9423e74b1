// Cluster (route) options: what startBroker({ cluster }) accepts and how it is checked. No cluster
// option means no cluster listener, no routes and no extra work on the publish path.
import { networkInterfaces } from 'node:os'
import { createSecureContext } from 'node:tls'
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { intOption, knownKeysOnly } from '../../internal/option-check.js'

export type RouteAuthorization = { user: string; password: string } | { token: string }

/**
 * TLS on the cluster port. As nats-server does for routes, the handshake starts as soon as the TCP
 * connection is up (before INFO), and both sides present and verify certificates by default.
 */
export interface RouteTlsOptions {
  /** PEM certificate chain (contents; the CLI reads `cert_file`). Presented to peers both ways. */
  cert: string | Buffer
  key: string | Buffer
  /** CA bundle that peers' certificates must chain to (the system CAs when absent). */
  ca?: string | Buffer
  /** Require and verify the peer's certificate on accepted routes, and the server's on dialled ones. Default true. */
  verify?: boolean
  /** Handshake deadline; default 2000 ms (nats-server's 2 s). */
  timeoutMs?: number
}

export interface ResolvedRouteTls {
  cert: string | Buffer
  key: string | Buffer
  ca: string | Buffer | undefined
  verify: boolean
  timeoutMs: number
}

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
  /** TLS on every route, accepted and dialled; a cluster either uses TLS on all routes or on none. */
  tls?: RouteTlsOptions
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
  tls: ResolvedRouteTls | undefined
  retryDelayMs: number
  maxRetryDelayMs: number
}

export const CLUSTER_DEFAULTS = {
  retryDelayMs: 250, // first re-dial after 250 ms
  maxRetryDelayMs: 5_000, // then doubling up to 5 s (nats-server re-dials every 1 s)
} as const

const KNOWN_KEYS = new Set(['name', 'host', 'port', 'routes', 'authorization', 'tls', 'retryDelayMs', 'maxRetryDelayMs'])
const TLS_KEYS = new Set(['cert', 'key', 'ca', 'verify', 'timeoutMs'])

function pem(name: string, v: unknown): string | Buffer {
  if ((typeof v !== 'string' && !Buffer.isBuffer(v)) || v.length === 0) bad(`Cannot use cluster.tls.${name}: expected PEM text (the CLI reads ${name}_file)`)
  return v
}

function resolveTls(t: RouteTlsOptions | undefined): ResolvedRouteTls | undefined {
  if (t === undefined) return undefined
  if (typeof t !== 'object' || t === null) bad('Cannot use cluster.tls: expected {cert, key, ca?, verify?}')
  knownKeysOnly(bad, 'cluster.tls', t, TLS_KEYS)
  if (t.verify !== undefined && typeof t.verify !== 'boolean') bad('Cannot use cluster.tls.verify: expected true or false')
  const r = {
    cert: pem('cert', t.cert),
    key: pem('key', t.key),
    ca: t.ca === undefined ? undefined : pem('ca', t.ca),
    verify: t.verify ?? true,
    timeoutMs: int('tls.timeoutMs', t.timeoutMs ?? 2000, 50, 60_000),
  }
  // A key that does not match its certificate, or text that is not PEM, fails here at start-up
  // with a typed error instead of at the first route.
  try {
    createSecureContext({ cert: r.cert, key: r.key, ...(r.ca === undefined ? {} : { ca: r.ca }) })
  } catch (err) {
    bad(`Cannot use cluster.tls: ${(err as Error).message}`)
  }
  return r
}

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

const int = (name: string, value: unknown, min: number, max: number): number => intOption(bad, `cluster.${name}`, value, min, max)

export function resolveClusterOptions(c: ClusterOptions): ResolvedClusterOptions {
  if (typeof c !== 'object' || c === null) bad('Cannot use cluster: expected an object with name and port')
  // An option this version does not act on is refused, never silently ignored.
  knownKeysOnly(bad, 'cluster', c, KNOWN_KEYS)
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
    tls: resolveTls(c.tls),
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
