// The demo's archiver: a stock nats.js client (what any NATS user would run) reading the ACCESS
// stream through a durable pull consumer and appending each event to JSON-lines files. A file is
// written as `current.jsonl.part` and renamed to `access-NNNN.jsonl` when rotated, so readers (the
// MapReduce job) only ever see complete files. Messages are acknowledged after they are written.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { AckPolicy, connect, DeliverPolicy, RetentionPolicy, StorageType, type ConsumerMessages, type NatsConnection } from 'nats'

export interface ArchiverOptions {
  servers: string
  dir: string
  stream?: string
  subjects?: string[]
  durable?: string
}

export interface Archiver {
  readonly written: number
  /** Complete archive files, oldest first. */
  files(): string[]
  /** Closes the current file and makes it visible to readers. */
  rotate(): void
  /** Waits until the consumer has nothing pending and nothing unacknowledged (or the timeout passes). */
  drain(timeoutMs: number): Promise<boolean>
  /** Consumer state from the broker: what is waiting and what is unacknowledged. */
  lag(): Promise<{ pending: number; ackPending: number; delivered: number }>
  close(): Promise<void>
}

export async function startArchiver(options: ArchiverOptions): Promise<Archiver> {
  const stream = options.stream ?? 'ACCESS'
  const durable = options.durable ?? 'archiver'
  mkdirSync(options.dir, { recursive: true })
  const nc: NatsConnection = await connect({ servers: options.servers, name: 'switchyard-demo-archiver' })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: stream, subjects: options.subjects ?? ['proxy.access.>'], storage: StorageType.File, retention: RetentionPolicy.Limits })
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: 30_000_000_000 })
  const consumer = await nc.jetstream().consumers.get(stream, durable)

  const part = join(options.dir, 'current.jsonl.part')
  let seq = readdirSync(options.dir).filter((f) => /^access-\d+\.jsonl$/.test(f)).length
  let written = 0
  const rotate = (): void => {
    if (existsSync(part) && readFileSync(part).length > 0) {
      seq++
      renameSync(part, join(options.dir, `access-${String(seq).padStart(4, '0')}.jsonl`))
    }
  }

  const messages: ConsumerMessages = await consumer.consume({ max_messages: 512 })
  const loop = (async () => {
    for await (const m of messages) {
      // Appends go straight to the file before the ack: an acked event is on disk.
      appendFileSync(part, `${m.string()}\n`)
      written++
      m.ack()
    }
  })()

  const lag = async () => {
    const info = await jsm.consumers.info(stream, durable)
    return { pending: info.num_pending, ackPending: info.num_ack_pending, delivered: info.delivered.stream_seq }
  }

  return {
    get written() {
      return written
    },
    files: () =>
      readdirSync(options.dir)
        .filter((f) => /^access-\d+\.jsonl$/.test(f))
        .sort()
        .map((f) => join(options.dir, f)),
    rotate,
    lag,

    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs
      await nc.flush()
      while (Date.now() < deadline) {
        const l = await lag()
        if (l.pending === 0 && l.ackPending === 0) return true
        await new Promise((r) => setTimeout(r, 100))
      }
      return false
    },
    async close() {
      messages.stop()
      await loop.catch(() => {})
      rotate()
      await nc.drain().catch(() => nc.close())
    },
  }
}
