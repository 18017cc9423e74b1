// Jepsen-style history checker for durable publishing: what the publishers were told was stored
// (acked), what they attempted, which publishes were retried, and what a full drain of the stream
// returned. Acked but missing = lost; present but never attempted = unexpected; the same id twice
// is a duplicate, acceptable only for a publish that was retried.
import { connect, AckPolicy, type JetStreamClient, type NatsConnection } from 'nats'

export interface History {
  /** id -> seq from the PubAck */
  acked: Map<string, number>
  attempted: Set<string>
  retried: Set<string>
}

export interface CheckResult {
  ok: boolean
  acked: number
  drained: number
  lost: string[]
  unexpected: string[]
  duplicates: string[]
  badDuplicates: string[]
  /** Acked seq differs from the seq found in the stream (only for non-duplicates). */
  seqMismatch: string[]
}

export function newHistory(): History {
  return { acked: new Map(), attempted: new Set(), retried: new Set() }
}

export function check(h: History, drained: { id: string; seq: number }[]): CheckResult {
  const seen = new Map<string, number[]>()
  for (const { id, seq } of drained) {
    const list = seen.get(id)
    if (list === undefined) seen.set(id, [seq])
    else list.push(seq)
  }
  const lost = [...h.acked.keys()].filter((id) => !seen.has(id))
  const unexpected = [...seen.keys()].filter((id) => !h.attempted.has(id))
  const duplicates = [...seen].filter(([, s]) => s.length > 1).map(([id]) => id)
  const badDuplicates = duplicates.filter((id) => !h.retried.has(id))
  const seqMismatch = [...h.acked].filter(([id, seq]) => {
    const s = seen.get(id)
    return s !== undefined && s.length === 1 && s[0] !== seq
  }).map(([id]) => id)
  return {
    ok: lost.length === 0 && unexpected.length === 0 && badDuplicates.length === 0 && seqMismatch.length === 0,
    acked: h.acked.size,
    drained: drained.length,
    lost,
    unexpected,
    duplicates,
    badDuplicates,
    seqMismatch,
  }
}

const dec = new TextDecoder()

/** Reads every message of `stream` with a fresh pull consumer (ack none); payload = id. */
export async function drain(port: number, stream: string): Promise<{ id: string; seq: number }[]> {
  const nc: NatsConnection = await connect({ port, reconnect: false })
  try {
    const jsm = await nc.jetstreamManager()
    const js: JetStreamClient = nc.jetstream()
    const total = (await jsm.streams.info(stream)).state.messages
    const name = `drain${Date.now()}`
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None })
    const c = await js.consumers.get(stream, name)
    const out: { id: string; seq: number }[] = []
    for (let guard = 0; out.length < total && guard < 10_000; guard++) {
      const before = out.length
      for await (const m of await c.fetch({ max_messages: 1000, expires: 1000 })) out.push({ id: dec.decode(m.data), seq: m.seq })
      if (out.length === before) break
    }
    return out
  } finally {
    await nc.close()
  }
}

const enc = new TextEncoder()

/**
 * One publisher: publishes `${name}-${n}` with Nats-Msg-Id = payload = id until stopped; after a
 * failure (broker killed, timeout) it reconnects and retries the same id.
 */
export async function publisher(name: string, port: () => number, h: History, stop: () => boolean, limit = Number.POSITIVE_INFINITY): Promise<void> {
  let n = 0
  let current: string | undefined
  let sent = 0
  while (!stop() && sent < limit) {
    let nc: NatsConnection
    try {
      nc = await connect({ port: port(), reconnect: false, timeout: 1000 })
    } catch {
      await new Promise((r) => setTimeout(r, 30))
      continue
    }
    const js = nc.jetstream({ timeout: 1500 })
    try {
      while (!stop() && sent < limit) {
        if (current === undefined) current = `${name}-${n++}`
        else h.retried.add(current)
        h.attempted.add(current)
        const pa = await js.publish('crash.p', enc.encode(current), { msgID: current, timeout: 1500 })
        h.acked.set(current, pa.seq)
        current = undefined
        sent++
      }
    } catch {
      // Killed broker or timeout: the publish is indeterminate; retry the same id.
    } finally {
      await nc.close().catch(() => {})
    }
  }
}
