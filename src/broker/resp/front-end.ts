// The Redis (RESP2/RESP3) pub/sub front-end of the broker: the TCP listener, the connections, the
// per-channel and per-pattern subscriber counts PUBSUB reports, and the caches a fan-out shares
// (the channel of a subject, the bulk heads of one message).
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import type { Broker } from '../server.js'
import { BrokerError, BrokerErrorCodes } from '../errors.js'
import { SocketTransport } from '../transport.js'
import { sharedTimers } from '../../internal/timers.js'
import { subjectToChannel } from './channel.js'
import { RespConnection } from './connection.js'
import type { ResolvedRespOptions } from './options.js'
import { SubKind, type ChannelSource, type SubKindValue } from './sub.js'
import { Slab, type SharedPacket } from '../slab.js'

interface PreEntry {
  head: Buffer
  subject: string
  length: number
  pre: Buffer
}

/** Push prefixes kept (see preOf): RESP2 and RESP3 `message`, a few patterns. */
const PRE_SLOTS = 4

export class RespFrontEnd implements ChannelSource {
  readonly broker: Broker
  readonly options: ResolvedRespOptions
  readonly connections = new Set<RespConnection>()
  /** Redis subscribers per channel and per pattern (latin1 keys keep the bytes), for PUBSUB. */
  readonly channelCounts = new Map<string, number>()
  readonly patternCounts = new Map<string, number>()
  readonly shardCounts = new Map<string, number>()
  #server: NetServer | undefined
  // One-entry caches: a fan-out delivers one message to many subscribers in a row.
  #lastSubject = ''
  #lastChannel: Buffer = Buffer.alloc(0)
  #pres: PreEntry[] = []
  #preNext = 0
  #wholeSeq = -1
  #wholePre: Buffer | undefined
  readonly #shared: SharedPacket = { whole: Buffer.alloc(0), base: Buffer.alloc(0), start: 0 }
  #built = false

  constructor(broker: Broker, options: ResolvedRespOptions) {
    this.broker = broker
    this.options = options
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0
  }

  async listen(defaultHost: string): Promise<void> {
    const o = this.options
    const host = o.host ?? defaultHost
    const server = createServer({ noDelay: true }, (socket) => this.#accept(socket))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new BrokerError(BrokerErrorCodes.LISTEN, `Cannot listen for Redis clients on ${host}:${o.port}: ${err.message}`, { cause: err })))
      server.listen({ port: o.port, host, backlog: 4096 }, () => resolve())
    })
    server.on('error', (err) => this.broker.logger.error({ err }, 'resp listener error'))
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) c.close('server shutdown')
    const server = this.#server
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  #accept(socket: Socket): void {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    const broker = this.broker
    if (broker.closed) {
      socket.destroy()
      return
    }
    const conn = new RespConnection(this, broker.nextClientId(), new SocketTransport(socket, 'tcp'), socket.remoteAddress ?? '', socket.remotePort ?? 0)
    socket.on('data', (chunk: Buffer) => {
      conn.feed(chunk)
      this.broker.readProgress()
    })
    socket.on('drain', () => conn.onDrain())
    socket.on('close', () => conn.onTransportClosed())
    if (!broker.adoptClient(conn)) {
      // Redis's answer when maxclients is reached.
      conn.sendRaw(Buffer.from('-ERR max number of clients reached\r\n'))
      conn.close('max connections')
      return
    }
    this.connections.add(conn)
    if (broker.authRequired) {
      sharedTimers.setTimeout(() => {
        if (!conn.authenticated && !conn.closed) conn.close('auth timeout')
      }, broker.options.authTimeoutMs)
    }
  }

  // ---- PUBSUB bookkeeping ----------------------------------------------------------------------

  countsFor(kind: SubKindValue): Map<string, number> {
    return kind === SubKind.CHANNEL ? this.channelCounts : kind === SubKind.PATTERN ? this.patternCounts : this.shardCounts
  }

  count(map: Map<string, number>, key: string, delta: number): void {
    const n = (map.get(key) ?? 0) + delta
    if (n <= 0) map.delete(key)
    else map.set(key, n)
  }

  // ---- delivery caches ---------------------------------------------------------------------------

  channelOf(subject: string): Buffer {
    if (subject !== this.#lastSubject) {
      this.#lastSubject = subject
      this.#lastChannel = subjectToChannel(subject)
    }
    return this.#lastChannel
  }

  /**
   * The whole push (`pre`, `body`, CRLF) of routed message `seq`, built once, carved from a slab,
   * and queued as a view for each subscriber (consecutive pushes are adjacent, so a subscriber's
   * queue joins them into one chunk). Built on the first delivery when the routing may reach two
   * or more (`fanout`), else on the second: undefined before, so a lone subscriber copies the
   * message into its own buffer once. Keyed by `pre` identity (see preOf), so any other head
   * (RESP3, `smessage`, a pattern's `pmessage`) starts over.
   */
  readonly #slab = new Slab()

  wholeOf(seq: number, fanout: number, pre: Buffer, body: Buffer): SharedPacket | undefined {
    if (seq !== this.#wholeSeq || pre !== this.#wholePre) {
      this.#wholeSeq = seq
      this.#wholePre = pre
      this.#built = false
      if (fanout < 2) return undefined
    }
    const s = this.#shared
    if (!this.#built) {
      const slab = this.#slab
      const w = slab.take(pre.length + body.length + 2)
      w.set(pre, 0)
      w.set(body, pre.length)
      const p = pre.length + body.length
      w[p] = 13
      w[p + 1] = 10
      s.whole = w
      s.base = slab.base
      s.start = slab.start
      this.#built = true
    }
    return s
  }

  /**
   * `head` then `$<n>\r\n<channel>\r\n$<body length>\r\n`: the same for every subscriber of one
   * message that shares `head` (a constant, or one pattern subscription's). The last few are kept,
   * so a fan-out that mixes heads does not rebuild them per subscriber.
   */
  preOf(head: Buffer, subject: string, bodyLength: number): Buffer {
    const slots = this.#pres
    for (let k = 0; k < slots.length; k++) {
      const e = slots[k] as PreEntry
      if (e.head === head && e.subject === subject && e.length === bodyLength) return e.pre
    }
    const channel = this.channelOf(subject)
    const mid = `$${channel.length}\r\n`
    const end = `\r\n$${bodyLength}\r\n`
    const pre = Buffer.allocUnsafe(head.length + mid.length + channel.length + end.length)
    head.copy(pre, 0)
    let p = head.length + pre.write(mid, head.length, 'latin1')
    p += channel.copy(pre, p)
    pre.write(end, p, 'latin1')
    const e: PreEntry = { head, subject, length: bodyLength, pre }
    if (slots.length < PRE_SLOTS) slots.push(e)
    else slots[this.#preNext++ % PRE_SLOTS] = e
    return pre
  }
}
