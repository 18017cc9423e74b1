// Header rules of a proxy hop: hop-by-hop removal (RFC 9110 7.6.1), X-Forwarded-For/-Proto/-Host,
// RFC 7239 Forwarded, Via, and the trusted-proxy list that decides whose chain is believed.
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** Always hop-by-hop, whatever Connection says. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
])

/** HOP_BY_HOP minus Trailer (a response keeps it) as an array: iterating it allocates nothing per response. */
const HOP_BY_HOP_LIST = [...HOP_BY_HOP].filter((n) => n !== 'trailer')

export class TrustedProxies {
  readonly #list = new BlockList()
  readonly empty: boolean

  constructor(cidrs: readonly string[]) {
    this.empty = cidrs.length === 0
    for (const c of cidrs) {
      const [addr = '', bits] = c.split('/')
      const type = isIPv6(addr) ? 'ipv6' : 'ipv4'
      if (!isIPv4(addr) && !isIPv6(addr)) throw new Error(`invalid trusted proxy address ${JSON.stringify(c)}`)
      if (bits === undefined) this.#list.addAddress(addr, type)
      else this.#list.addSubnet(addr, Number(bits), type)
    }
  }

  has(ip: string): boolean {
    if (this.empty || ip === '') return false
    const v4mapped = ip.startsWith('::ffff:') && isIPv4(ip.slice(7))
    if (v4mapped) return this.#list.check(ip.slice(7), 'ipv4')
    return this.#list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4')
  }
}

export function normaliseIp(ip: string | undefined): string {
  if (ip === undefined) return ''
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip
}

/**
 * The client address: with a trusted peer, the right-most X-Forwarded-For entry that is not
 * itself a trusted proxy; otherwise the peer.
 */
export function clientIpOf(peer: string, xff: string | undefined, trusted: TrustedProxies): string {
  if (xff === undefined || !trusted.has(peer)) return peer
  const hops = xff.split(',')
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = (hops[i] as string).trim()
    if (h === '') continue
    if (!trusted.has(h)) return h
  }
  return peer
}

/**
 * The `for=` nodes of an RFC 7239 Forwarded header as a comma list (what clientIpOf walks):
 * quotes, IPv6 brackets and ports removed; obfuscated (`_x`) and `unknown` nodes kept as they are
 * so that they stop the walk like any untrusted hop would.
 */
export function forwardedForList(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join(',') : value
  const out: string[] = []
  for (const element of text.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
      let node = pair.slice(eq + 1).trim()
      if (node.startsWith('"') && node.endsWith('"') && node.length >= 2) node = node.slice(1, -1)
      if (node.startsWith('[')) node = node.slice(1, node.indexOf(']') < 0 ? undefined : node.indexOf(']'))
      else if (node.indexOf(':') === node.lastIndexOf(':') && node.includes(':')) node = node.slice(0, node.indexOf(':'))
      out.push(node)
    }
  }
  return out.length === 0 ? undefined : out.join(',')
}

/** The client address from a peer and its headers: X-Forwarded-For, else RFC 7239 `Forwarded: for=`. */
export function clientIpFromHeaders(peer: string, headers: IncomingHttpHeaders, trusted: TrustedProxies): string {
  if (trusted.empty) return peer
  const xff = headers['x-forwarded-for']
  const chain = xff !== undefined ? (Array.isArray(xff) ? xff.join(',') : xff) : forwardedForList(headers['forwarded'])
  return clientIpOf(peer, chain, trusted)
}

function connectionTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(',') : value
  // Usual case: one token (`keep-alive`, `close`).
  if (!text.includes(',')) {
    const t = text.trim().toLowerCase()
    return t === '' ? [] : [t]
  }
  return text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '')
}

/**
 * Builds the upstream request headers from the client's raw header list (keeps repeated
 * headers apart), minus hop-by-hop ones and HTTP/2 pseudo-headers. `keep`: names a Connection
 * listing may not remove (undefined: listings are ignored); names with `_` are dropped unless
 * `underscores` (see header-policy.ts).
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  connection: string | string[] | undefined,
  policy: { readonly keep: ReadonlySet<string> | undefined; readonly underscores: boolean } = DEFAULT_POLICY,
): Record<string, string | string[]> {
  const keep = policy.keep
  const named = keep === undefined ? [] : connectionTokens(connection).filter((n) => !keep.has(n))
  const underscores = policy.underscores
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (name.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(name)) continue
    if (named.length > 0 && named.includes(name)) continue
    if (!underscores && name.includes('_')) continue
    const value = raw[i + 1] as string
    const prev = out[name]
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = name === 'cookie' ? `${prev}; ${value}` : [prev, value]
  }
  return out
}

/** Without a config (upgrades, embedders): Host and the forwarding chain stay, `_` names go. */
const DEFAULT_POLICY = { keep: new Set(['host', 'content-length', 'cookie', 'authorization', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']), underscores: false }

/** Response headers from undici's parsed object, minus hop-by-hop ones; mutates and returns it. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers['connection']
  // `Connection: keep-alive` or `close` (nearly every answer) names only hop-by-hop fields itself.
  const named = connection === undefined || connection === 'keep-alive' || connection === 'close' || connection === 'Keep-Alive' || connection === 'Close' ? undefined : connectionTokens(connection)
  for (let i = 0; i < HOP_BY_HOP_LIST.length; i++) {
    const name = HOP_BY_HOP_LIST[i] as string
    if (headers[name] !== undefined) delete headers[name]
  }
  if (named !== undefined) for (const name of named) delete headers[name]
  return headers as OutgoingHttpHeaders
}

function forwardedNode(ip: string): string {
  // A peer address is IPv4 or IPv6 text; only IPv6 has a colon (cheaper than isIPv6's regex).
  return ip.includes(':') && isIPv6(ip) ? `"[${ip}]"` : ip
}

export interface ForwardingOptions {
  xForwarded: boolean
  forwarded: boolean
  via: string | false
  trusted: TrustedProxies
}

/** Adds X-Forwarded-*, Forwarded and Via for one hop. */
export function addForwardingHeaders(
  h: Record<string, string | string[]>,
  peer: string,
  proto: 'http' | 'https',
  host: string,
  httpVersion: string,
  opts: ForwardingOptions,
): void {
  const trusted = opts.trusted.has(peer)
  if (opts.xForwarded) {
    const prior = trusted ? h['x-forwarded-for'] : undefined
    const priorText = Array.isArray(prior) ? prior.join(', ') : prior
    h['x-forwarded-for'] = priorText === undefined || priorText === '' ? peer : `${priorText}, ${peer}`
    if (!trusted || h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = proto
    if (!trusted || h['x-forwarded-host'] === undefined) h['x-forwarded-host'] = host
  }
  if (opts.forwarded) {
    const el = `for=${forwardedNode(peer)};host=${JSON.stringify(host)};proto=${proto}`
    const prior = trusted ? h['forwarded'] : undefined
    const priorText = Array.isArray(prior) ? prior.join(', ') : prior
    h['forwarded'] = priorText === undefined || priorText === '' ? el : `${priorText}, ${el}`
  } else if (!trusted) {
    delete h['forwarded']
  }
  if (opts.via !== false) {
    const v = `${httpVersion === '2.0' ? '2' : httpVersion} ${opts.via}`
    const prior = h['via']
    const priorText = Array.isArray(prior) ? prior.join(', ') : prior
    h['via'] = priorText === undefined ? v : `${priorText}, ${v}`
  }
}

/** Applies a route's set / add / remove edits to a header record. */
export function applyHeaderEdits(
  h: Record<string, string | string[] | number | undefined>,
  edits: { readonly set: Readonly<Record<string, string>>; readonly add: Readonly<Record<string, string>>; readonly remove: readonly string[] } | undefined,
): void {
  if (edits === undefined) return
  for (const name of edits.remove) delete h[name.toLowerCase()]
  for (const [name, value] of Object.entries(edits.set)) h[name.toLowerCase()] = value
  for (const [name, value] of Object.entries(edits.add)) {
    const n = name.toLowerCase()
    const prev = h[n]
    if (prev === undefined) h[n] = value
    else if (Array.isArray(prev)) h[n] = [...prev, value]
    else h[n] = [String(prev), value]
  }
}
