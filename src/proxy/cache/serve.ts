// Turning a stored response into the answer for one request: client conditionals (304 per RFC
// 9110 §13), single byte ranges from a complete stored 200 (206 / 416, If-Range), HEAD from GET.
import type { IncomingHttpHeaders } from 'node:http'
import type { StoredHeaders } from './store.js'

export interface Answer {
  status: number
  headers: StoredHeaders
  body: Buffer
}

/** Fields a 304 carries (RFC 9110 §15.4.5) plus Age and Last-Modified for validators. */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'age', 'last-modified']

function one(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(', ') : v
}

function weakMatch(a: string, b: string): boolean {
  return a.trim().replace(/^W\//, '') === b.trim().replace(/^W\//, '')
}

/** RFC 9110 §13.1.2 / §13.1.3 for GET/HEAD against the stored validators. */
export function notModified(req: IncomingHttpHeaders, stored: StoredHeaders): boolean {
  const etag = typeof stored['etag'] === 'string' ? stored['etag'] : undefined
  const inm = one(req, 'if-none-match')
  if (inm !== undefined) {
    if (inm.trim() === '*') return true
    if (etag === undefined) return false
    return inm.split(',').some((t) => weakMatch(t, etag))
  }
  const ims = one(req, 'if-modified-since')
  const lm = typeof stored['last-modified'] === 'string' ? Date.parse(stored['last-modified']) : Number.NaN
  if (ims !== undefined && Number.isFinite(lm)) {
    const since = Date.parse(ims)
    return Number.isFinite(since) && lm <= since
  }
  return false
}

function ifRangeAllows(req: IncomingHttpHeaders, stored: StoredHeaders): boolean {
  const ir = one(req, 'if-range')
  if (ir === undefined) return true
  const etag = typeof stored['etag'] === 'string' ? stored['etag'] : undefined
  if (ir.startsWith('"') || ir.startsWith('W/')) {
    // Strong comparison only (§13.1.5).
    return etag !== undefined && !etag.startsWith('W/') && !ir.startsWith('W/') && etag === ir.trim()
  }
  const lm = stored['last-modified']
  return typeof lm === 'string' && lm === ir.trim()
}

/** Parses a single `bytes=` range against `size`; undefined = ignore Range, null = unsatisfiable. */
export function parseRange(value: string, size: number): { start: number; end: number } | null | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value)
  if (m === null) return undefined // multiple ranges or another unit: send the full response (allowed)
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return undefined
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0) return null
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (b !== '' && Number(b) < start) return undefined
  if (start >= size) return null
  return { start, end }
}

export function answerFromCache(method: string, req: IncomingHttpHeaders, status: number, headers: StoredHeaders, body: Buffer): Answer {
  if ((status === 200 || status === 203) && notModified(req, headers)) {
    const h: StoredHeaders = {}
    for (const f of NOT_MODIFIED_FIELDS) {
      const v = headers[f]
      if (v !== undefined) h[f] = v
    }
    if (headers['x-cache'] !== undefined) h['x-cache'] = headers['x-cache']
    return { status: 304, headers: h, body: Buffer.alloc(0) }
  }
  const range = one(req, 'range')
  if (method === 'GET' && status === 200 && range !== undefined && ifRangeAllows(req, headers)) {
    const r = parseRange(range, body.length)
    if (r === null) {
      const h: StoredHeaders = { ...headers, 'content-range': `bytes */${body.length}` }
      delete h['content-length']
      return { status: 416, headers: h, body: Buffer.alloc(0) }
    }
    if (r !== undefined) {
      const h: StoredHeaders = { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${body.length}` }
      delete h['content-length']
      return { status: 206, headers: h, body: body.subarray(r.start, r.end + 1) }
    }
  }
  const h: StoredHeaders = { ...headers }
  delete h['content-length']
  return { status, headers: h, body }
}
