// Client address resolution behind trusted proxies, and allow/deny lists. X-Forwarded-For is
// walked from the right: hops added by trusted proxies are skipped, the first untrusted hop is
// the client. A client cannot spoof its address by sending its own X-Forwarded-For header,
// because its own (untrusted) peer address is always reached before any forged entry.
import { canonicalIp, CidrSet, parseIp } from './cidr.js'

export interface ClientIpOptions {
  /** CIDRs of proxies whose X-Forwarded-For / Forwarded entries are believed. */
  trustedProxies?: readonly string[]
}

function forwardedFor(value: string): string[] {
  // RFC 7239: for=192.0.2.60, for="[2001:db8::1]:4711"; keep only the node name.
  const out: string[] = []
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
      let v = pair.slice(eq + 1).trim()
      if (v.startsWith('"')) v = v.slice(1, -1)
      if (v.startsWith('[')) v = v.slice(1, v.indexOf(']'))
      else if (v.includes('.') && v.includes(':')) v = v.slice(0, v.indexOf(':'))
      out.push(v)
    }
  }
  return out
}

export class ClientIpResolver {
  readonly #trusted: CidrSet

  constructor(options: ClientIpOptions = {}) {
    this.#trusted = new CidrSet(options.trustedProxies ?? [])
  }

  isTrusted(ip: string): boolean {
    return this.#trusted.has(ip)
  }

  /**
   * The client address for a request from `peer` carrying these headers. `xff` may be the raw
   * header (a string) or node's joined form; `forwarded` is the RFC 7239 header, used when no XFF.
   */
  resolve(peer: string, xff?: string | readonly string[], forwarded?: string): string {
    let ip = canonicalIp(peer)
    if (this.#trusted.size === 0 || !this.#trusted.has(ip)) return ip
    const xffText = Array.isArray(xff) ? xff.join(',') : (xff as string | undefined)
    const chain =
      xffText !== undefined && xffText !== ''
        ? xffText.split(',').map((s) => s.trim())
        : forwarded !== undefined
          ? forwardedFor(forwarded)
          : []
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = chain[i] as string
      if (parseIp(hop) === undefined) return ip // garbage: stop at the last address we can vouch for
      ip = canonicalIp(hop)
      if (!this.#trusted.has(ip)) return ip
    }
    return ip
  }
}

export interface IpAccessOptions {
  allow?: readonly string[]
  deny?: readonly string[]
}

/** Deny wins over allow; an empty allow list allows everyone not denied. */
export class IpAccessList {
  readonly #allow: CidrSet
  readonly #deny: CidrSet

  constructor(options: IpAccessOptions = {}) {
    this.#allow = new CidrSet(options.allow ?? [])
    this.#deny = new CidrSet(options.deny ?? [])
  }

  get empty(): boolean {
    return this.#allow.size === 0 && this.#deny.size === 0
  }

  permits(ip: string): boolean {
    const parsed = parseIp(ip)
    if (parsed === undefined) return this.#allow.size === 0 && this.#deny.size === 0
    if (this.#deny.has(parsed)) return false
    return this.#allow.size === 0 || this.#allow.has(parsed)
  }
}
