// A stream's messages through the API: STREAM.MSG.GET and STREAM.MSG.DELETE (JSON replies) and
// DIRECT.GET (the stored message itself, with Nats-Stream/Subject/Sequence/Time-Stamp headers).
import type { BrokerMsg } from '../types.js'
import { ApiErrors, type ApiError } from './api-errors.js'
import { badField, MsgDeleteFields, MsgGetFields } from './api-fields.js'
import { type ApiContext, withStream } from './api-context.js'
import { JsHeaders } from './js-headers.js'
import type { Stream } from './stream.js'
import { subjectsOverlap } from './subjects.js'

const dec = new TextDecoder()

function findMsg(s: Stream, body: Record<string, unknown>): number {
  const store = s.store
  if (typeof body['last_by_subj'] === 'string') {
    const subj = body['last_by_subj']
    const { matcher } = { matcher: (p: string) => (sub: string) => p === sub || subjectsOverlap(p, sub) }
    return /[*>]/.test(subj) ? store.lastSeqFor('', matcher(subj)) : store.lastSeqFor(subj)
  }
  const seq = typeof body['seq'] === 'number' ? body['seq'] : 0
  if (typeof body['next_by_subj'] === 'string') {
    const subj = body['next_by_subj']
    return store.nextSeq(Math.max(seq, 1), (x) => x === subj || subjectsOverlap(subj, x))
  }
  return store.has(seq) ? seq : 0
}

export function msgGet(ctx: ApiContext, name: string, body: Record<string, unknown>, reply: string): void {
  const type = 'stream_msg_get_response'
  const s = ctx.streams.get(name)
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  if (badField(body, MsgGetFields) !== undefined) return ctx.error(reply, type, ApiErrors.invalidJson())
  const seq = findMsg(s, body)
  const m = seq === 0 ? undefined : s.store.get(seq)
  if (m === undefined) return ctx.error(reply, type, ApiErrors.noMessageFound())
  const message: Record<string, unknown> = { subject: m.subject, seq: m.seq, data: Buffer.from(m.data).toString('base64'), time: new Date(m.ts).toISOString() }
  if (m.hdr !== undefined) message['hdrs'] = Buffer.from(m.hdr).toString('base64')
  ctx.reply(reply, type, { message })
}

export function msgDelete(ctx: ApiContext, name: string | undefined, body: Record<string, unknown>, reply: string): Promise<void> {
  if (badField(body, MsgDeleteFields) !== undefined) return Promise.resolve(ctx.error(reply, 'stream_msg_delete_response', ApiErrors.invalidJson()))
  return withStream(ctx, name, reply, 'stream_msg_delete_response', (s) => {
    const seq = typeof body['seq'] === 'number' ? body['seq'] : 0
    if (s.config.deny_delete) return ctx.error(reply, 'stream_msg_delete_response', ApiErrors.streamInvalidConfig('message delete not permitted'))
    if (!s.store.delete(seq)) return ctx.error(reply, 'stream_msg_delete_response', e404msg(seq))
    for (const cons of s.consumers.values()) cons.onStreamPurged()
    ctx.reply(reply, 'stream_msg_delete_response', { success: true })
  })
}

export function directGet(ctx: ApiContext, t: string[], m: BrokerMsg): void {
  const s = ctx.streams.get(t[2] ?? '')
  if (s === undefined || !s.config.allow_direct || m.reply === '') return
  let body: Record<string, unknown> = {}
  let bad = false
  if (t.length > 3) body = { last_by_subj: t.slice(3).join('.') }
  else {
    try {
      const parsed: unknown = JSON.parse(dec.decode(m.data) || '{}')
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>
    } catch {
      bad = true
    }
  }
  if (bad || badField(body, MsgGetFields) !== undefined) {
    // nats-server's status for a bad direct get body is 408 (sic).
    ctx.host.broker.publish(m.reply, new Uint8Array(0), { headers: JsHeaders.status(408, 'Bad Request') })
    return
  }
  const seq = findMsg(s, body)
  const msg = seq === 0 ? undefined : s.store.get(seq)
  if (msg === undefined) {
    ctx.host.broker.publish(m.reply, new Uint8Array(0), { headers: JsHeaders.status(404, 'Message Not Found') })
    return
  }
  const h = msg.hdr === undefined ? new JsHeaders() : JsHeaders.parse(msg.hdr)
  h.set('Nats-Stream', s.name)
  h.set('Nats-Subject', msg.subject)
  h.set('Nats-Sequence', String(msg.seq))
  h.set('Nats-Time-Stamp', new Date(msg.ts).toISOString())
  ctx.host.broker.publish(m.reply, msg.data, { headers: h })
}

function e404msg(_seq: number): ApiError {
  return ApiErrors.noMessageFound()
}
