// Leafnode options: what startBroker({ leafnodes }) accepts and how it is checked. `port` opens a
// leafnode listener (this node is a hub for whoever connects); `remotes` are hubs this node dials
// (it is their spoke). No leafnodes option means no listener, no dials and no work on the publish path.
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { intOption, knownKeysOnly } from '../../internal/option-check.js'

export type LeafAuthorization = { user: string; password: string } | { token: string }

export interface LeafRemote {
  /** `nats-leaf://[user:pass@]host:port` (or `nats://`); credentials in the URL are sent in CONNECT. */
  url?: string
  /** Several URLs of one hub cluster, tried in turn. */
  urls?: string[]
}

export interface LeafnodeOptions {
  /** Leafnode listener host; defaults to the broker's host. */
  host?: string
  /** Leafnode listener port (0 picks a free one); without it this node accepts no leafnodes. */
  port?: number
  /** Credentials that soliciting leafnodes must send in their CONNECT. */
  authorization?: LeafAuthorization
  /** Hubs to dial. */
  remotes?: LeafRemote[]
  /** First delay before re-dialling a hub that failed or dropped; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number
  maxRetryDelayMs?: number
}

export interface ParsedLeafUrl {
  host: string
  port: number
  user: string
  pass: string
}

export interface ResolvedLeafnodeOptions {
  host: string | undefined
  port: number | undefined
  authorization: LeafAuthorization | undefined
  remotes: { urls: string[] }[]
  retryDelayMs: number
  maxRetryDelayMs: number
}

export const LEAF_DEFAULTS = {
  retryDelayMs: 250, // first re-dial after 250 ms
  maxRetryDelayMs: 5_000, // then doubling up to 5 s (nats-server re-dials every 1 s plus jitter)
} as const

const KNOWN_KEYS = new Set(['host', 'port', 'authorization', 'remotes', 'retryDelayMs', 'maxRetryDelayMs'])
const REMOTE_KEYS = new Set(['url', 'urls'])

function bad(message: string): never {
  throw new BrokerError(BrokerErrorCodes.OPTIONS, message)
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Parses one leafnode URL; throws ERR_BROKER_OPTIONS for schemes this version cannot dial (TLS, WebSocket). */
export function parseLeafUrl(text: string): ParsedLeafUrl {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    bad(`Cannot use leafnode remote ${JSON.stringify(text)}: not a URL; expected nats-leaf://HOST:PORT`)
  }
  if (u.protocol === 'tls:' || u.protocol === 'wss:' || u.protocol === 'ws:') bad(`Cannot use leafnode remote ${JSON.stringify(text)}: TLS and WebSocket leafnodes are not supported; use nats-leaf://`)
  if (u.protocol !== 'nats-leaf:' && u.protocol !== 'nats:') bad(`Cannot use leafnode remote ${JSON.stringify(text)}: expected the nats-leaf:// or nats:// scheme`)
  const port = Number(u.port)
  if (u.port === '' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`Cannot use leafnode remote ${JSON.stringify(text)}: expected an explicit port from 1 to 65535`)
  if (u.hostname === '') bad(`Cannot use leafnode remote ${JSON.stringify(text)}: no host`)
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { host, port, user: decode(u.username), pass: decode(u.password) }
}

const int = (name: string, value: unknown, min: number, max: number): number => intOption(bad, `leafnodes.${name}`, value, min, max)

export function resolveLeafnodeOptions(l: LeafnodeOptions): ResolvedLeafnodeOptions {
  if (typeof l !== 'object' || l === null) bad('Cannot use leafnodes: expected an object with port and/or remotes')
  // A setting this version does not act on (tls, accounts, credentials ...) is refused, never ignored.
  knownKeysOnly(bad, 'leafnodes', l, KNOWN_KEYS)
  const remotes: { urls: string[] }[] = []
  for (const [i, r] of (l.remotes ?? []).entries()) {
    if (typeof r !== 'object' || r === null) bad(`Cannot use leafnodes.remotes[${i}]: expected {url} or {urls}`)
    for (const key of Object.keys(r)) if (!REMOTE_KEYS.has(key)) bad(`Cannot use leafnodes.remotes[${i}].${key}: not supported (known: url, urls; put user:password in the URL)`)
    const urls = [...(r.url === undefined ? [] : [r.url]), ...(r.urls ?? [])]
    if (urls.length === 0) bad(`Cannot use leafnodes.remotes[${i}]: no url`)
    for (const u of urls) parseLeafUrl(u)
    remotes.push({ urls })
  }
  if (l.port === undefined && remotes.length === 0) bad('Cannot use leafnodes: give a port to accept leafnodes, remotes to dial, or both')
  let authorization: LeafAuthorization | undefined
  const a = l.authorization as Record<string, unknown> | undefined
  if (a !== undefined) {
    if (l.port === undefined) bad('Cannot use leafnodes.authorization without leafnodes.port: it would have no effect')
    if ('token' in a) {
      if (typeof a.token !== 'string' || a.token === '' || 'user' in a || 'password' in a) bad('Cannot use leafnodes.authorization: a token must be a non-empty string and comes alone, without user/password')
      authorization = { token: a.token }
    } else {
      for (const key of Object.keys(a)) if (key !== 'user' && key !== 'password') bad(`Cannot use leafnodes.authorization.${key}: not supported (known: user, password, token)`)
      if (typeof a.user !== 'string' || a.user === '' || typeof a.password !== 'string') bad('Cannot use leafnodes.authorization: expected {user, password} or {token}')
      authorization = { user: a.user, password: a.password }
    }
  }
  const retryDelayMs = int('retryDelayMs', l.retryDelayMs ?? LEAF_DEFAULTS.retryDelayMs, 10, 60_000)
  return {
    host: l.host,
    port: l.port === undefined ? undefined : int('port', l.port, 0, 65535),
    authorization,
    remotes,
    retryDelayMs,
    maxRetryDelayMs: int('maxRetryDelayMs', l.maxRetryDelayMs ?? Math.max(retryDelayMs, LEAF_DEFAULTS.maxRetryDelayMs), retryDelayMs, 600_000),
  }
}
