// Writing a cache answer on the client response: the stored fields as one flat list (built once
// per stored header object for plain hits), X-Cache, Content-Length, and the access-log fields,
// filled in before the write (the fast path writes the log line inside end()).
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { FastResponse } from '../fast/fast-message.js'
import { HANDLED, type ProxyRequestContext } from '../plugin-api.js'
import { preparedHead } from './prepared-hit.js'
import type { Lookup } from './http-cache.js'
import type { StoredHeaders } from './store.js'

export function send(ctx: ProxyRequestContext, status: number, headers: StoredHeaders, body: Buffer, xCache: string, fullLength: number): typeof HANDLED {
  // A flat [name, value, ...] list: node takes it without walking an object's keys.
  const out: (string | string[])[] = []
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined) out.push(k, v)
  }
  return sendList(ctx, status, out, headers['x-request-id'] !== undefined, body, xCache, fullLength)
}

/** `out`: the stored fields as a flat list, which this extends; `hasId`: it holds an x-request-id. */
export function sendList(ctx: ProxyRequestContext, status: number, out: (string | string[])[], hasId: boolean, body: Buffer, xCache: string, fullLength: number): typeof HANDLED {
  const res = ctx.res as ServerResponse
  if (res.headersSent || res.destroyed) return HANDLED
  out.push('x-cache', xCache)
  if (status !== 304) out.push('content-length', String(ctx.method === 'HEAD' && status !== 206 && status !== 416 ? fullLength : body.length))
  if (ctx.id !== '' && !hasId) out.push('x-request-id', ctx.id)
  const withBody = ctx.method !== 'HEAD' && status !== 304 && body.length > 0
  // The log fields first: the fast path emits 'close', which writes the log line, inside end().
  ctx.log.status = status
  ctx.log.body_bytes_sent = withBody ? body.length : 0
  ctx.log.cache ??= xCache
  res.writeHead(status, out as unknown as OutgoingHttpHeaders)
  res.end(withBody ? body : undefined)
  return HANDLED
}

interface StoredList {
  /** The stored fields minus Content-Length, Age last unless stored (its value set per answer). */
  list: (string | string[])[]
  ageAt: number
  hasId: boolean
}

/** Per stored header object: what every plain hit sends, computed on its first hit. */
const storedLists = new WeakMap<StoredHeaders, StoredList>()

function storedList(headers: StoredHeaders): StoredList {
  let s = storedLists.get(headers)
  if (s === undefined) {
    const list: (string | string[])[] = []
    let ageAt = -1
    for (const k in headers) {
      const v = headers[k]
      if (v === undefined || k === 'content-length' || k === 'surrogate-control') continue
      if (k === 'age') ageAt = list.length + 1
      list.push(k, v)
    }
    if (ageAt < 0) {
      list.push('age', '')
      ageAt = list.length - 1
    }
    s = { list, ageAt, hasId: headers['x-request-id'] !== undefined }
    storedLists.set(headers, s)
  }
  return s
}

/**
 * A hit whose request has no validators and no Range: answerFromCache would send the stored
 * response unchanged (minus Content-Length, with a current Age), so send the per-entry list.
 */
export function sendPlainHit(ctx: ProxyRequestContext, l: Lookup, xCache: 'HIT' | 'STALE', cookies: string[] | undefined): typeof HANDLED {
  const res = ctx.res
  // The fast path: the entry's head as prepared bytes, unless a hook set fields on this response.
  if (cookies === undefined && res instanceof FastResponse && !res.hasSetHeaders) {
    if (res.headersSent || res.destroyed) return HANDLED
    const p = preparedHead(l.entry, xCache)
    if (p !== null) {
      const body = l.entry.body
      ctx.log.status = p.status
      ctx.log.body_bytes_sent = ctx.method !== 'HEAD' && body.length > 0 ? body.length : 0
      ctx.log.cache ??= xCache
      let fields = `age: ${Math.floor(l.age)}\r\n`
      if (ctx.id !== '' && !p.hasId) fields += `x-request-id: ${ctx.id}\r\n`
      res.sendPrepared(p.status, p.statusMessage, p.head, fields, p.hasDate, body)
      return HANDLED
    }
  }
  const s = storedList(l.entry.headers)
  const out = s.list.slice()
  out[s.ageAt] = String(Math.floor(l.age))
  if (cookies !== undefined) out.push('set-cookie', cookies)
  return sendList(ctx, l.entry.status, out, s.hasId, l.entry.body, xCache, l.entry.body.length)
}
