// One fan-out session per protocol: N subscriber connections and one publisher connection, all in
// this process, driven the same way (publish a batch, flush, keep subscribers within a window).
import { connect as natsConnect, type NatsConnection } from 'nats'
import { Redis } from 'ioredis'
import mqtt from 'mqtt'
import { connect as netConnect, type Socket } from 'node:net'

export type Protocol = 'nats' | 'redis' | 'mqtt' | 'raw'

export interface FanOut {
  publish(data: Buffer): void
  /** Resolves when the server has taken everything published so far (where the protocol can tell). */
  flush(): Promise<void>
  close(): Promise<void>
}

export type OnMsg = (sub: number, data: Uint8Array) => void

const SUBJECT = 'bench.fanout'

/** Where to connect: one server, or (NATS, a cluster) the publisher's node and the subscribers' nodes in turn. */
export type FanOutPorts = number | { pub: number; subs: readonly number[] }

export async function openFanOut(protocol: Protocol, ports: FanOutPorts, subscribers: number, onMsg: OnMsg): Promise<FanOut> {
  const port = typeof ports === 'number' ? ports : ports.pub
  const subPort = (i: number): number => (typeof ports === 'number' ? ports : (ports.subs[i % ports.subs.length] ?? ports.pub))
  if (protocol === 'nats') {
    // `--wildcard`/`--deny` (bench/broker/index.ts): subscribers use `bench.>`; with deny they log in as the bench user.
    const WILDCARD = process.env['BENCH_WILDCARD'] === '1' || process.env['BENCH_DENY'] === '1'
    const AUTH = process.env['BENCH_DENY'] === '1' ? { user: 'bench', pass: 'bench' } : {}
    const subs: NatsConnection[] = []
    for (let i = 0; i < subscribers; i++) {
      const nc = await natsConnect({ servers: `127.0.0.1:${subPort(i)}`, noEcho: true, ...AUTH })
      nc.subscribe(WILDCARD ? 'bench.>' : SUBJECT, { callback: (_e, m) => onMsg(i, m.data) })
      await nc.flush()
      subs.push(nc)
    }
    const pub = await natsConnect({ servers: `127.0.0.1:${port}`, ...AUTH })
    return {
      publish: (d) => pub.publish(SUBJECT, d),
      flush: () => pub.flush(),
      async close() {
        await pub.close()
        for (const s of subs) await s.close()
      },
    }
  }
  if (protocol === 'redis') {
    const subs: Redis[] = []
    for (let i = 0; i < subscribers; i++) {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
      await r.connect()
      r.on('messageBuffer', (_ch: Buffer, msg: Buffer) => onMsg(i, msg))
      await r.subscribe(SUBJECT)
      subs.push(r)
    }
    const pub = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
    await pub.connect()
    let pipe = pub.pipeline()
    return {
      publish(d) {
        pipe.publish(SUBJECT, d)
      },
      async flush() {
        const p = pipe
        pipe = pub.pipeline()
        await p.exec()
      },
      async close() {
        pub.disconnect()
        for (const s of subs) s.disconnect()
      },
    }
  }
  if (protocol === 'raw') return openRaw(port, subscribers, onMsg)
  const subs: mqtt.MqttClient[] = []
  const topic = SUBJECT.replace('.', '/')
  for (let i = 0; i < subscribers; i++) {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
    c.on('message', (_t, payload) => onMsg(i, payload))
    await c.subscribeAsync(topic, { qos: 0 })
    subs.push(c)
  }
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })
  return {
    publish: (d) => {
      pub.publish(topic, d, { qos: 0 })
    },
    // QoS 0 has no server acknowledgement; the receive window alone paces the publisher.
    flush: async () => {},
    async close() {
      await pub.endAsync()
      for (const s of subs) await s.endAsync()
    },
  }
}

/** Connects to bench/broker/relay-server.mjs and waits for its one-byte acknowledgement. */
async function rawConnect(role: 'S' | 'P', port: number): Promise<Socket> {
  const sock = netConnect({ port, host: '127.0.0.1', noDelay: true })
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject)
    sock.once('connect', () => sock.write(role))
    sock.once('data', () => resolve())
  })
  return sock
}

/** The relay floor: frames are a 4-byte length and the payload; subscribers reassemble them. */
async function openRaw(port: number, subscribers: number, onMsg: OnMsg): Promise<FanOut> {
  const subs: Socket[] = []
  for (let i = 0; i < subscribers; i++) {
    const s = await rawConnect('S', port)
    let pending: Buffer = Buffer.alloc(0)
    s.on('data', (chunk: Buffer) => {
      let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      let off = 0
      while (buf.length - off >= 4) {
        const len = buf.readUInt32LE(off)
        if (buf.length - off - 4 < len) break
        onMsg(i, buf.subarray(off + 4, off + 4 + len))
        off += 4 + len
      }
      pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off))
      buf = pending
    })
    subs.push(s)
  }
  const pub = await rawConnect('P', port)
  return {
    publish(d) {
      // One write per message, so the relay gets whole frames in as few chunks as the kernel allows.
      const frame = Buffer.allocUnsafe(4 + d.length)
      frame.writeUInt32LE(d.length, 0)
      d.copy(frame, 4)
      pub.write(frame)
    },
    // No acknowledgement: the receive window alone paces the publisher (as for MQTT QoS 0).
    flush: () => new Promise<void>((resolve) => (pub.writableNeedDrain ? pub.once('drain', () => resolve()) : resolve())),
    async close() {
      pub.destroy()
      for (const s of subs) s.destroy()
    },
  }
}
