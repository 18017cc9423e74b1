// $JS.API.STREAM.* handlers: create, update, info, delete, purge, names and list.
import { join } from 'node:path'
import { ApiErrors } from './api-errors.js'
import { badField, ListFields, PurgeFields, StreamInfoFields } from './api-fields.js'
import { isApiError, normalizeStreamConfig } from './config.js'
import { PAGE, type ApiContext, withStream } from './api-context.js'
import { writeFileAtomic } from './storage-io.js'
import { Stream } from './stream.js'
import { subjectsOverlap } from './subjects.js'

const enc = new TextEncoder()

export function streamInfo(ctx: ApiContext, name: string | undefined, body: Record<string, unknown>, reply: string): Promise<void> {
  if (badField(body, StreamInfoFields) !== undefined) return Promise.resolve(ctx.error(reply, 'stream_info_response', ApiErrors.invalidJson()))
  return withStream(ctx, name, reply, 'stream_info_response', (s) => ctx.reply(reply, 'stream_info_response', streamInfoWithSubjects(s, body)))
}

function streamInfoWithSubjects(s: Stream, body: Record<string, unknown>): Record<string, unknown> {
  const info = s.info()
  const filter = body['subjects_filter']
  if (typeof filter === 'string' && filter !== '') {
    const { matcher } = { matcher: (p: string) => (sub: string) => p === '>' || subjectsOverlap(p, sub) }
    const subjects = s.store.subjectCounts(matcher(filter))
    ;(info['state'] as Record<string, unknown>)['subjects'] = subjects
    ;(info['state'] as Record<string, unknown>)['num_subjects'] = Object.keys(subjects).length
  }
  return info
}

export function streamPurge(ctx: ApiContext, name: string | undefined, body: Record<string, unknown>, reply: string): Promise<void> {
  // A wrong type used to be ignored: {"filter": 123} purged everything, {"seq": 1e18} broke the stream.
  if (badField(body, PurgeFields) !== undefined) return Promise.resolve(ctx.error(reply, 'stream_purge_response', ApiErrors.invalidJson()))
  return withStream(ctx, name, reply, 'stream_purge_response', (s) => {
    if (s.config.deny_purge) return ctx.error(reply, 'stream_purge_response', ApiErrors.purgeFailed('stream purge not permitted'))
    const purged = s.purge({
      ...(typeof body['filter'] === 'string' ? { filter: body['filter'] } : {}),
      ...(typeof body['seq'] === 'number' ? { seq: body['seq'] } : {}),
      ...(typeof body['keep'] === 'number' ? { keep: body['keep'] } : {}),
    })
    ctx.reply(reply, 'stream_purge_response', { success: true, purged })
  })
}

export async function streamCreate(ctx: ApiContext, name: string, body: Record<string, unknown>, reply: string): Promise<void> {
  const type = 'stream_create_response'
  const cfg = normalizeStreamConfig(body, name, ctx.options)
  if (isApiError(cfg)) return ctx.error(reply, type, cfg)
  if (cfg.storage === 'file' && ctx.root === undefined) return ctx.error(reply, type, ApiErrors.streamInvalidConfig('file storage requires a store directory (--store-dir)'))
  const existing = ctx.streams.get(name)
  if (existing !== undefined) {
    if (JSON.stringify(existing.config) === JSON.stringify(cfg)) return ctx.reply(reply, type, existing.info())
    return ctx.error(reply, type, ApiErrors.streamNameExists())
  }
  for (const other of ctx.streams.values()) {
    for (const a of other.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return ctx.error(reply, type, ApiErrors.streamSubjectOverlap())
  }
  const created = new Date().toISOString()
  const dir = ctx.root === undefined ? undefined : join(ctx.root, name)
  if (cfg.storage === 'file' && dir !== undefined) {
    ctx.io.remove(dir) // leftovers of a stream deleted before a crash
    ctx.io.mkdirp(dir)
    await writeFileAtomic(ctx.io, join(dir, 'meta.json'), enc.encode(JSON.stringify({ config: cfg, created })))
  }
  const stream = new Stream(ctx.host, cfg, created, ctx.openStore(cfg, dir))
  ctx.streams.set(name, stream)
  stream.start()
  ctx.reply(reply, type, stream.info())
}

export async function streamUpdate(ctx: ApiContext, name: string, body: Record<string, unknown>, reply: string): Promise<void> {
  const type = 'stream_update_response'
  const s = ctx.streams.get(name)
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  const cfg = normalizeStreamConfig(body, name, ctx.options)
  if (isApiError(cfg)) return ctx.error(reply, type, cfg)
  const old = s.config
  if (cfg.storage !== old.storage) return ctx.error(reply, type, ApiErrors.streamInvalidConfig('stream configuration update can not change storage type'))
  if (cfg.retention !== old.retention) return ctx.error(reply, type, ApiErrors.streamInvalidConfig('stream configuration update can not change retention policy'))
  for (const other of ctx.streams.values()) {
    if (other === s) continue
    for (const a of other.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return ctx.error(reply, type, ApiErrors.streamSubjectOverlap())
  }
  if (cfg.storage === 'file' && ctx.root !== undefined) {
    await writeFileAtomic(ctx.io, join(ctx.root, name, 'meta.json'), enc.encode(JSON.stringify({ config: cfg, created: s.created })))
  }
  const subjectsChanged = JSON.stringify(cfg.subjects) !== JSON.stringify(old.subjects)
  s.config = cfg
  if (subjectsChanged) s.restart()
  s.enforceLimits()
  for (const c of s.consumers.values()) c.onStreamPurged()
  ctx.reply(reply, type, s.info())
}

export async function streamDelete(ctx: ApiContext, name: string, reply: string): Promise<void> {
  const type = 'stream_delete_response'
  const s = ctx.streams.get(name)
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  s.stop(true)
  ctx.streams.delete(name)
  for (const c of s.consumers.values()) ctx.forgetDirty(c)
  await s.store.destroy()
  if (ctx.root !== undefined) ctx.io.remove(join(ctx.root, name))
  ctx.reply(reply, type, { success: true })
}

export function streamList(ctx: ApiContext, kind: 'NAMES' | 'LIST', body: Record<string, unknown>, reply: string): void {
  const type = kind === 'NAMES' ? 'stream_names_response' : 'stream_list_response'
  if (badField(body, ListFields) !== undefined) return ctx.error(reply, type, ApiErrors.invalidJson())
  const offset = typeof body['offset'] === 'number' ? Math.max(0, body['offset']) : 0
  const subject = typeof body['subject'] === 'string' ? body['subject'] : ''
  let all = [...ctx.streams.values()].sort((x, y) => (x.name < y.name ? -1 : 1))
  if (subject !== '') all = all.filter((s) => s.config.subjects.some((p) => subjectsOverlap(p, subject)))
  const page = all.slice(offset, offset + PAGE)
  ctx.reply(reply, type, { total: all.length, offset, limit: PAGE, streams: kind === 'NAMES' ? page.map((s) => s.name) : page.map((s) => s.info()) })
}
