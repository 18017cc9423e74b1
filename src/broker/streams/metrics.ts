// Prometheus metrics for JetStream, computed from the live state when scraped.
import { Counter, Gauge, type Registry } from '../../internal/metrics.js'
import type { JszInfo } from './jetstream.js'

export function registerJetStreamMetrics(registry: Registry, snapshot: () => JszInfo, counters: { inMsgs: number; inBytes: number; outMsgs: number; outBytes: number }): void {
  const gauge = (name: string, help: string, labels: string[], collect: (g: Gauge<string>) => void): void => {
    if (registry.getSingleMetric(name) !== undefined) return
    new Gauge({ name, help, labelNames: labels, registers: [registry], collect() {
      this.reset()
      collect(this)
    } })
  }
  gauge('switchyard_jetstream_stream_messages', 'Messages stored per stream', ['stream'], (g) => {
    for (const s of streamsOf(snapshot())) g.set({ stream: s.name }, s.messages)
  })
  gauge('switchyard_jetstream_stream_bytes', 'Bytes stored per stream', ['stream'], (g) => {
    for (const s of streamsOf(snapshot())) g.set({ stream: s.name }, s.bytes)
  })
  gauge('switchyard_jetstream_consumer_ack_pending', 'Messages delivered and not yet acknowledged, per consumer', ['stream', 'consumer'], (g) => {
    for (const s of streamsOf(snapshot())) for (const c of s.consumers) g.set({ stream: s.name, consumer: c.name }, c.ackPending)
  })
  gauge('switchyard_jetstream_consumer_pending', 'Messages not yet delivered, per consumer', ['stream', 'consumer'], (g) => {
    for (const s of streamsOf(snapshot())) for (const c of s.consumers) g.set({ stream: s.name, consumer: c.name }, c.pending)
  })
  gauge('switchyard_jetstream_fsyncs', 'fsync calls made by stream stores since start', [], (g) => g.set(snapshot().fsyncs))
  if (registry.getSingleMetric('switchyard_jetstream_messages_in_total') === undefined) {
    new Counter({ name: 'switchyard_jetstream_messages_in_total', help: 'Messages stored by streams', registers: [registry], collect() {
      this.reset()
      this.inc(counters.inMsgs)
    } })
    new Counter({ name: 'switchyard_jetstream_messages_out_total', help: 'Messages delivered by consumers (including redeliveries)', registers: [registry], collect() {
      this.reset()
      this.inc(counters.outMsgs)
    } })
  }
}

interface StreamRow {
  name: string
  messages: number
  bytes: number
  consumers: { name: string; ackPending: number; pending: number }[]
}

function streamsOf(j: JszInfo): StreamRow[] {
  const out: StreamRow[] = []
  for (const d of j.account_details[0]?.stream_detail ?? []) {
    const state = d['state'] as { messages: number; bytes: number }
    const cons = (d['consumer_detail'] as { name: string; num_ack_pending: number; num_pending: number }[]).map((c) => ({ name: c.name, ackPending: c.num_ack_pending, pending: c.num_pending }))
    out.push({ name: d['name'] as string, messages: state.messages, bytes: state.bytes, consumers: cons })
  }
  return out
}
