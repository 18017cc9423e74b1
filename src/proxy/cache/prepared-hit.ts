// Plain cache hits on the fast path: the head of each stored response is built and checked once,
// as bytes (status line, stored fields, X-Cache, Content-Length); a hit then writes only Age, the
// request id, Date when the origin sent none, and the connection line (FastResponse.sendPrepared).
import { STATUS_CODES } from 'node:http'
import { isValidField } from '../fast/fast-message.js'
import type { CacheEntry, StoredHeaders } from './store.js'

export interface PreparedHead {
  readonly head: Buffer
  readonly status: number
  readonly statusMessage: string
  /** The stored fields hold a Date (else the response adds the current one, as writeHead would). */
  readonly hasDate: boolean
  /** The stored fields hold an x-request-id (else the hit adds its own, as sendList does). */
  readonly hasId: boolean
  /** Body length the head's Content-Length was written for. */
  readonly length: number
}

interface PerHeaders {
  HIT?: PreparedHead | null
  STALE?: PreparedHead | null
}

/** Keyed by the stored header object: a 304 merge (freshen) makes a new one, so a new head. */
const prepared = new WeakMap<StoredHeaders, PerHeaders>()

/**
 * The prepared head for a plain answer (no validators, no Range, no cookies) from `entry` with
 * X-Cache `xCache`; null when the generic writeHead must handle it (a field it treats specially
 * or refuses, a name not in lower case).
 */
export function preparedHead(entry: CacheEntry, xCache: 'HIT' | 'STALE'): PreparedHead | null {
  let per = prepared.get(entry.headers)
  if (per === undefined) {
    per = {}
    prepared.set(entry.headers, per)
  }
  let p = per[xCache]
  if (p === undefined || (p !== null && (p.length !== entry.body.length || p.status !== entry.status))) {
    p = build(entry, xCache)
    per[xCache] = p
  }
  return p
}

/** Fields writeHead frames itself or treats specially; a stored copy of one goes the generic way. */
const SPECIAL = new Set(['connection', 'transfer-encoding', 'keep-alive'])

function build(entry: CacheEntry, xCache: string): PreparedHead | null {
  const status = entry.status
  if (!Number.isInteger(status) || status < 200 || status > 999 || status === 304) return null
  const statusMessage = STATUS_CODES[status] ?? 'unknown'
  let out = `HTTP/1.1 ${status} ${statusMessage}\r\n`
  let hasDate = false
  const headers = entry.headers
  for (const k in headers) {
    const v = headers[k]
    // Age is written per answer; Surrogate-Control is for this cache only; Content-Length is ours.
    if (v === undefined || k === 'content-length' || k === 'surrogate-control' || k === 'age') continue
    if (k !== k.toLowerCase() || SPECIAL.has(k)) return null
    // writeHead notes a Date only when given as one string (a list gets a current one added too).
    if (k === 'date' && typeof v === 'string') hasDate = true
    for (const one of typeof v === 'string' ? [v] : v) {
      if (!isValidField(k, one)) return null
      out += `${k}: ${one}\r\n`
    }
  }
  out += `x-cache: ${xCache}\r\ncontent-length: ${entry.body.length}\r\n`
  return { head: Buffer.from(out, 'latin1'), status, statusMessage, hasDate, hasId: headers['x-request-id'] !== undefined, length: entry.body.length }
}
