// CIDR parsing and matching for IPv4 and IPv6 (IPv4-mapped IPv6 addresses match IPv4 rules).
// Addresses become bigints so one code path serves both families; lists are small and scanned.
import { isIPv4, isIPv6 } from 'node:net'
import { ProtectError, ProtectErrorCodes } from './errors.js'

export interface Cidr {
  readonly family: 4 | 6
  readonly base: bigint
  readonly bits: number
  readonly text: string
}

export interface ParsedIp {
  readonly family: 4 | 6
  readonly value: bigint
}

function v4ToBig(ip: string): bigint {
  let v = 0n
  for (const part of ip.split('.')) v = (v << 8n) | BigInt(Number(part))
  return v
}

function v6ToBig(ip: string): bigint {
  let text = ip
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const v = v4ToBig(tail)
    text = `${text.slice(0, lastColon + 1)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  const r = rest === undefined || rest === '' ? [] : rest.split(':')
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r]
  let v = 0n
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16))
  return v
}

/** Parses an address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is returned as IPv4. Undefined if invalid. */
export function parseIp(ip: string): ParsedIp | undefined {
  if (isIPv4(ip)) return { family: 4, value: v4ToBig(ip) }
  if (isIPv6(ip)) {
    const value = v6ToBig(ip)
    if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn }
    return { family: 6, value }
  }
  return undefined
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Throws ERR_PROXY_BAD_CIDR. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const ip = parseIp(addr)
  const mapped = ip !== undefined && ip.family === 4 && isIPv6(addr)
  const max = ip?.family === 4 ? 32 : 128
  let bits = slash < 0 ? max : Number(text.slice(slash + 1))
  if (mapped && slash >= 0) bits -= 96
  if (ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d{1,3}$/.test(text.slice(slash + 1)))) {
    throw new ProtectError(ProtectErrorCodes.BAD_CIDR, `Cannot parse CIDR ${JSON.stringify(text)}: use a.b.c.d/n or an IPv6 prefix like 2001:db8::/32`)
  }
  const width = BigInt(max)
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits))
  return { family: ip.family, base: ip.value & mask, bits, text }
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false
  const width = cidr.family === 4 ? 32n : 128n
  const shift = width - BigInt(cidr.bits)
  return ip.value >> shift === cidr.base >> shift
}

/** A list of CIDRs with longest-prefix lookup; values let the same class serve CIDR -> region tables. */
export class CidrTable<V> {
  readonly #rules: { cidr: Cidr; value: V }[] = []

  add(cidr: string, value: V): this {
    this.#rules.push({ cidr: parseCidr(cidr), value })
    this.#rules.sort((a, b) => b.cidr.bits - a.cidr.bits)
    return this
  }

  get size(): number {
    return this.#rules.length
  }

  /** The value of the most specific rule containing `ip`, or undefined. */
  lookup(ip: string | ParsedIp): V | undefined {
    const parsed = typeof ip === 'string' ? parseIp(ip) : ip
    if (parsed === undefined) return undefined
    for (const r of this.#rules) if (cidrContains(r.cidr, parsed)) return r.value
    return undefined
  }
}

export class CidrSet {
  readonly #table = new CidrTable<true>()

  constructor(cidrs: readonly string[] = []) {
    for (const c of cidrs) this.#table.add(c, true)
  }

  get size(): number {
    return this.#table.size
  }

  has(ip: string | ParsedIp): boolean {
    return this.#table.lookup(ip) === true
  }
}

/** Strips the IPv4-mapped prefix so logs and keys show `1.2.3.4`, not `::ffff:1.2.3.4`. */
export function canonicalIp(ip: string): string {
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) return ip.slice(7)
  return ip
}
