// What the $JS.API request handlers need from the JetStream instance, and the stream and consumer
// lookups that answer "not found" for them.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { ApiErrors, type ApiError } from './api-errors.js'
import type { StreamConfig } from './config.js'
import type { Consumer } from './consumer.js'
import type { MsgStore } from './msg-store.js'
import type { ResolvedJetStreamOptions } from './options.js'
import type { StorageIO } from './storage-io.js'
import type { Stream, StreamHost } from './stream.js'

/** Page size of NAMES and LIST responses. */
export const PAGE = 256

export interface ApiContext {
  /** The JetStream instance: streams are created with it as their host. */
  readonly host: StreamHost
  readonly streams: Map<string, Stream>
  readonly options: ResolvedJetStreamOptions
  readonly io: StorageIO
  /** storeDir/streams; undefined without a store directory. */
  readonly root: string | undefined
  /** Replies `{ type: io.nats.jetstream.api.v1.<type>, ...body }`. */
  reply(reply: string, type: string, body: Record<string, unknown>): void
  /** Replies with an API error and counts it. */
  error(reply: string, type: string, err: ApiError): void
  openStore(cfg: StreamConfig, dir: string | undefined): MsgStore
  saveConsumer(s: Stream, c: Consumer): Promise<void>
  /** Drops a consumer from the set whose state awaits saving (it is being deleted). */
  forgetDirty(c: Consumer): void
}

export async function withStream(ctx: ApiContext, name: string | undefined, reply: string, type: string, fn: (s: Stream) => void | Promise<void>): Promise<void> {
  const s = ctx.streams.get(name ?? '')
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  await fn(s)
}

export async function withConsumer(ctx: ApiContext, stream: string | undefined, name: string | undefined, reply: string, type: string, fn: (s: Stream, c: Consumer) => void | Promise<void>): Promise<void> {
  const s = ctx.streams.get(stream ?? '')
  if (s === undefined) return ctx.error(reply, type, ApiErrors.streamNotFound())
  const c = s.consumers.get(name ?? '')
  if (c === undefined) return ctx.error(reply, type, ApiErrors.consumerNotFound())
  await fn(s, c)
}

/**
 * Where a durable consumer's state lives: storeDir/streams/<stream>/consumers/<name>.json. Names
 * of 247-255 bytes would make a file name (or its `.tmp` while written) over 255 bytes; they are
 * stored under a hash of the name (`<sha256>.long.json`: the dots keep it apart from every valid
 * name). Recovery reads the name from the file's content, not from its name.
 */
export function consumerFile(root: string, stream: string, name: string): string {
  const file = Buffer.byteLength(name) <= 246 ? `${name}.json` : `${createHash('sha256').update(name).digest('hex')}.long.json`
  return join(root, stream, 'consumers', file)
}
