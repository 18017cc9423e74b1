// The fan-out workload of bench/broker (one server) and bench/broker/cluster.ts (publisher on one
// node, subscribers spread over the others): 1 publisher -> N subscribers, batches with a flush,
// the slowest subscriber kept within a window so the figure is sustained throughput, not buffering.
import { newHistogram, type Workload } from '../lib/harness.js'
import { openFanOut, type Protocol } from './clients.js'

export interface FanOutCtx {
  protocol: Protocol
  /** Port the publisher connects to. */
  pubPort: number
  /** Ports subscriber i connects to: subPorts[i % subPorts.length]. */
  subPorts: number[]
  /**
   * Before measuring, publish empty probes until every subscriber has one (a cluster needs its
   * interest to reach the publisher's node first). Empty messages are never counted.
   */
  probe?: boolean
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function fanOutWorkload(subscribers: number, size: number, o: { scale: number; quick: boolean }): Workload<FanOutCtx> {
  // Deliveries per round; Aedes is an order of magnitude slower, so it gets fewer.
  const target = ((size <= 1024 ? 400_000 : 40_000) * o.scale) / (o.quick ? 4 : 1)
  const batch = size <= 1024 ? 500 : 100
  return {
    name: `1->${subscribers} ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`}`,
    unit: 'deliveries/s',
    async run(ctx, name) {
      const messages = Math.max(batch, Math.round(target / subscribers / (name === 'aedes' ? 8 : 1)))
      const window = size <= 1024 ? 2000 : batch * 4
      const received = new Array<number>(subscribers).fill(0)
      const latency = newHistogram()
      let total = 0
      const probed = new Array<boolean>(subscribers).fill(false)
      let probedCount = 0
      const onMsg = (i: number, data: Uint8Array): void => {
        if (data.byteLength === 0) {
          if (!probed[i]) {
            probed[i] = true
            probedCount++
          }
          return
        }
        received[i] = (received[i] as number) + 1
        total++
        // Sample latency on every 8th delivery to keep recording cost out of the measurement.
        if ((total & 7) === 0 && data.byteLength >= 8) {
          const sent = new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true)
          latency.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)))
        }
      }
      const fan = await openFanOut(ctx.protocol, { pub: ctx.pubPort, subs: ctx.subPorts }, subscribers, onMsg)
      if (ctx.probe === true) {
        const until = performance.now() + 10_000
        while (probedCount < subscribers && performance.now() < until) {
          fan.publish(Buffer.alloc(0))
          await fan.flush()
          await delay(5)
        }
        if (probedCount < subscribers) console.log(`  ${name}: only ${probedCount} of ${subscribers} subscribers reachable before the run`)
      }
      const minReceived = (): number => {
        let m = Infinity
        for (const r of received) if (r < m) m = r
        return m
      }
      try {
        const start = performance.now()
        let sent = 0
        let stalledSince = 0
        while (sent < messages) {
          const n = Math.min(batch, messages - sent)
          for (let k = 0; k < n; k++) {
            const buf = Buffer.allocUnsafe(size)
            buf.writeDoubleLE(performance.now(), 0)
            fan.publish(buf)
          }
          sent += n
          await fan.flush()
          // Keep the slowest subscriber within a window so we measure sustained throughput, not buffering.
          while (sent - minReceived() > window) {
            await delay(1)
            if (stalledSince === 0) stalledSince = performance.now()
            if (performance.now() - stalledSince > 10_000) break
          }
          stalledSince = 0
        }
        const deadline = performance.now() + 15_000
        while (total < messages * subscribers && performance.now() < deadline) await delay(1)
        const seconds = (performance.now() - start) / 1000
        if (total < messages * subscribers) console.log(`  ${name}: only ${total} of ${messages * subscribers} deliveries arrived`)
        return { ops: total, seconds, latency }
      } finally {
        await fan.close()
        await delay(100)
      }
    },
  }
}

