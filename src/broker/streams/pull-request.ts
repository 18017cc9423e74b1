// A pull consumer's CONSUMER.MSG.NEXT request: its body (a bare batch number or JSON with batch,
// expires, no_wait, max_bytes, idle_heartbeat) checked against the consumer's limits the way
// nats-server checks it, with the same status codes and descriptions.
import { badField, PullFields } from './api-fields.js'
import { type ConsumerConfig, NS_PER_MS } from './config.js'

export interface PullRequest {
  reply: string
  batch: number
  maxBytes: number
  /** Epoch ms, 0 for none. */
  expiresAt: number
  hbMs: number
  lastSent: number
  noWait: boolean
  delivered: number
}

/** A request refused with a status message to its reply subject. */
export interface PullRefusal {
  readonly code: number
  readonly description: string
}

const refuse = (code: number, description: string): PullRefusal => ({ code, description })

export function parsePullRequest(reply: string, payload: Uint8Array, c: ConsumerConfig, waiting: number, now: number): PullRequest | PullRefusal {
  let batch = 1
  let expiresNs = 0
  let noWait = false
  let maxBytes = 0
  let hbNs = 0
  const text = new TextDecoder().decode(payload).trim()
  if (/^\d{1,15}$/.test(text)) batch = Number(text)
  else if (text !== '') {
    let j: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refuse(400, 'Bad Request')
      j = parsed as Record<string, unknown>
    } catch {
      return refuse(400, 'Bad Request')
    }
    // nats-server answers a field of the wrong type with 400 `Bad Request - <decode error>`.
    const bad = badField(j, PullFields)
    if (bad !== undefined) return refuse(400, `Bad Request - invalid ${bad}`)
    batch = typeof j['batch'] === 'number' ? j['batch'] : 1
    expiresNs = typeof j['expires'] === 'number' ? j['expires'] : 0
    noWait = j['no_wait'] === true
    maxBytes = typeof j['max_bytes'] === 'number' ? j['max_bytes'] : 0
    hbNs = typeof j['idle_heartbeat'] === 'number' ? j['idle_heartbeat'] : 0
  }
  if (batch <= 0) batch = 1
  if (c.max_batch !== undefined && batch > c.max_batch) return refuse(409, `Exceeded MaxRequestBatch of ${c.max_batch}`)
  if (c.max_expires !== undefined && expiresNs > c.max_expires) return refuse(409, `Exceeded MaxRequestExpires of ${c.max_expires / NS_PER_MS}ms`)
  if (c.max_bytes !== undefined && maxBytes > c.max_bytes) return refuse(409, `Exceeded MaxRequestMaxBytes of ${c.max_bytes}`)
  if (hbNs > 0 && expiresNs > 0 && hbNs * 2 > expiresNs) return refuse(400, 'Bad Request - heartbeat value too large')
  if (waiting >= (c.max_waiting ?? 512)) return refuse(409, 'Exceeded MaxWaiting')
  return {
    reply,
    batch,
    maxBytes,
    expiresAt: expiresNs > 0 ? now + expiresNs / NS_PER_MS : 0,
    hbMs: hbNs / NS_PER_MS,
    lastSent: now,
    noWait,
    delivered: 0,
  }
}
