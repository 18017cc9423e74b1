// Shared helpers for the MQTT tests: a broker with MQTT on port 0, bounded waits.
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { startBroker, type Broker, type BrokerOptions } from '../../../src/broker/index.js'

export async function mqttBroker(t: { after(fn: () => Promise<void>): void }, extra: Partial<BrokerOptions> = {}): Promise<Broker> {
  const b = await startBroker({ port: 0, host: '127.0.0.1', monitorPort: false, mqtt: { port: 0 }, ...extra })
  t.after(() => b.close())
  return b
}

/** An mqtt.js client, ended in t.after. */
export async function client(t: { after(fn: () => Promise<void>): void }, port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...opts })
  t.after(async () => {
    await c.endAsync(true).catch(() => {})
  })
  return c
}

export interface Got {
  topic: string
  payload: string
  qos: number
  retain: boolean
  dup: boolean
  props: Record<string, unknown> | undefined
}

/** Records messages; `next(n)` waits (bounded) until n have arrived. */
export function collect(c: MqttClient): { got: Got[]; next(n: number, ms?: number): Promise<Got[]> } {
  const got: Got[] = []
  const waiters: (() => void)[] = []
  c.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup, props: packet.properties as Record<string, unknown> | undefined })
    for (const w of waiters.splice(0)) w()
  })
  return {
    got,
    async next(n, ms = 3000) {
      const end = Date.now() + ms
      while (got.length < n) {
        const left = end - Date.now()
        if (left <= 0) throw new Error(`timed out waiting for ${n} messages; got ${JSON.stringify(got)}`)
        await new Promise<void>((resolve) => {
          const tm = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(tm)
            resolve()
          })
        })
      }
      return got
    },
  }
}

/** Waits until `cond()` holds (bounded). */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export { mqtt }
