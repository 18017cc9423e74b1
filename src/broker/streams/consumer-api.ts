// $JS.API.CONSUMER.* handlers: create (also DURABLE.CREATE), info, delete, names and list.
// CONSUMER.MSG.NEXT goes straight to the consumer (see jetstream.ts).
import { join } from 'node:path'
import type { MsgSender } from '../types.js'
import { ApiErrors } from './api-errors.js'
import { badField, ConsumerRequestFields, ListFields } from './api-fields.js'
import { isApiError, MAX_NAME_BYTES, nameTooLong, normalizeConsumerConfig, validName } from './config.js'
import { consumerFile, PAGE, type ApiContext, withConsumer, withStream } from './api-context.js'

export async function consumerCreate(ctx: ApiContext, streamName: string, nameInSubject: string | undefined, filterInSubject: string | undefined, body: Record<string, unknown>, reply: string, sender: MsgSender | undefined, legacyDurable = false): Promise<void> {
  const type = 'consumer_create_response'
  const s = ctx.streams.get(streamName)
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  if (badField(body, ConsumerRequestFields) !== undefined) return ctx.error(reply, type, ApiErrors.invalidJson())
  if (typeof body['stream_name'] === 'string' && body['stream_name'] !== streamName) return ctx.error(reply, type, ApiErrors.streamNameMismatch())
  const raw = (typeof body['config'] === 'object' && body['config'] !== null ? body['config'] : {}) as Record<string, unknown>
  const cfg = normalizeConsumerConfig(raw, ctx.options)
  if (isApiError(cfg)) return ctx.error(reply, type, cfg)
  // The broker publishes dead letters itself: without this a user who may create consumers could
  // have stream data published where that user may not publish (creates and updates alike).
  const dlq = cfg.dead_letter_subject
  if (dlq !== undefined && sender !== undefined && !sender.canPublish(dlq)) return ctx.error(reply, type, ApiErrors.deadLetterNotPermitted())
  if (legacyDurable) {
    if (cfg.durable_name === undefined && nameInSubject !== undefined) cfg.durable_name = nameInSubject
    if (cfg.durable_name !== nameInSubject) return ctx.error(reply, type, ApiErrors.consumerCreate('consumer name in subject does not match durable name in request'))
  } else if (nameInSubject !== undefined) {
    if (cfg.name !== undefined && cfg.name !== nameInSubject) return ctx.error(reply, type, ApiErrors.consumerCreate('consumer name in subject does not match name in request'))
    if (cfg.durable_name !== undefined && cfg.durable_name !== nameInSubject) return ctx.error(reply, type, ApiErrors.consumerDurableNameMismatch())
    if (filterInSubject !== undefined && cfg.filter_subject !== undefined && cfg.filter_subject !== filterInSubject) return ctx.error(reply, type, ApiErrors.consumerCreate('consumer filter subject does not match subject in request'))
  }
  if (cfg.name !== undefined && cfg.durable_name !== undefined && cfg.name !== cfg.durable_name) return ctx.error(reply, type, ApiErrors.consumerDurableNameMismatch())
  const name = cfg.durable_name ?? cfg.name ?? nameInSubject ?? ephemeralName()
  // Checked before anything is created: a name the file store cannot hold used to leave a consumer
  // alive in memory that was never saved (and a 500 showing the store path).
  if (!validName(name)) return ctx.error(reply, type, ApiErrors.consumerCreate('consumer name is invalid'))
  if (nameTooLong(name)) return ctx.error(reply, type, ApiErrors.consumerNameTooLong(MAX_NAME_BYTES))
  const existing = s.consumers.get(name)
  if (existing !== undefined) {
    const a = { ...existing.config, name: undefined }
    const b = { ...cfg, name: undefined }
    if (JSON.stringify(a) === JSON.stringify(b)) return ctx.reply(reply, type, existing.info())
    const immutable = ['deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'replay_policy', 'filter_subject'] as const
    if (immutable.some((k) => JSON.stringify(existing.config[k]) !== JSON.stringify(cfg[k])) || (existing.isPush !== (cfg.deliver_subject !== undefined))) {
      return ctx.error(reply, type, ApiErrors.consumerNameExists())
    }
    existing.update(cfg)
    ctx.host.consumerDirty(s, existing)
    return ctx.reply(reply, type, existing.info())
  }
  const err = s.checkNewConsumer(cfg)
  if (err !== undefined) return ctx.error(reply, type, err)
  const created = new Date().toISOString()
  const consumer = s.addConsumer(name, cfg, created)
  if (s.config.storage === 'file' && !consumer.ephemeral && cfg.mem_storage !== true && ctx.root !== undefined) {
    try {
      ctx.io.mkdirp(join(ctx.root, s.name, 'consumers'))
      await ctx.saveConsumer(s, consumer)
    } catch (err) {
      // All or nothing: a consumer that could not be saved would vanish on restart.
      s.removeConsumer(name)
      ctx.forgetDirty(consumer)
      ctx.options.logger?.error({ err, stream: s.name, consumer: name }, 'cannot save new consumer')
      return ctx.error(reply, type, ApiErrors.consumerStore())
    }
  }
  ctx.reply(reply, type, consumer.info())
  consumer.pump()
}

function ephemeralName(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  let out = ''
  for (let i = 0; i < 8; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)]
  return out
}

export function consumerInfo(ctx: ApiContext, stream: string | undefined, name: string | undefined, reply: string): Promise<void> {
  return withConsumer(ctx, stream, name, reply, 'consumer_info_response', (_s, cons) => ctx.reply(reply, 'consumer_info_response', cons.info()))
}

export function consumerDelete(ctx: ApiContext, stream: string | undefined, name: string | undefined, reply: string): Promise<void> {
  return withConsumer(ctx, stream, name, reply, 'consumer_delete_response', async (s, cons) => {
    s.removeConsumer(cons.name)
    ctx.forgetDirty(cons)
    const root = ctx.root
    if (root !== undefined && s.config.storage === 'file') ctx.io.remove(consumerFile(root, s.name, cons.name))
    ctx.reply(reply, 'consumer_delete_response', { success: true })
  })
}

export function consumerList(ctx: ApiContext, b: 'NAMES' | 'LIST', stream: string | undefined, body: Record<string, unknown>, reply: string): Promise<void> {
  const type = b === 'NAMES' ? 'consumer_names_response' : 'consumer_list_response'
  if (badField(body, ListFields) !== undefined) return Promise.resolve(ctx.error(reply, type, ApiErrors.invalidJson()))
  return withStream(ctx, stream, reply, type, (s) => {
    const offset = typeof body['offset'] === 'number' ? Math.max(0, body['offset']) : 0
    const all = [...s.consumers.values()].sort((x, y) => (x.name < y.name ? -1 : 1))
    const page = all.slice(offset, offset + PAGE)
    const consumers = b === 'NAMES' ? page.map((x) => x.name) : page.map((x) => x.info())
    ctx.reply(reply, b === 'NAMES' ? 'consumer_names_response' : 'consumer_list_response', { total: all.length, offset, limit: PAGE, consumers })
  })
}
