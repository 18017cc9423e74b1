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
  #tailSubject = ''
  #tailLen = -1
  #tail: Buffer = Buffer.alloc(0)
  #wholeSeq = -1
  #wholeHead: Buffer | undefined
  #whole: Buffer | undefined

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
    socket.on('data', (chunk: Buffer) => conn.feed(chunk))
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
   * The whole push (`head`, `tail`, `body`, CRLF) of routed message `seq`, built once and copied
   * to each further subscriber in one piece. Undefined for the first subscriber of a message:
   * a message with one subscriber is not copied twice. Keyed by `head` identity (RESP2 or RESP3,
   * `message`, `smessage` or one pattern's `pmessage`), so any other head starts over.
   */
  wholeOf(seq: number, head: Buffer, tail: Buffer, body: Buffer): Buffer | undefined {
    if (seq !== this.#wholeSeq || head !== this.#wholeHead) {
      this.#wholeSeq = seq
      this.#wholeHead = head
      this.#whole = undefined
      return undefined
    }
    if (this.#whole === undefined) {
      const w = Buffer.allocUnsafe(head.length + tail.length + body.length + 2)
      w.set(head, 0)
      w.set(tail, head.length)
      let p = head.length + tail.length
      w.set(body, p)
      p += body.length
      w[p] = 13
      w[p + 1] = 10
      this.#whole = w
    }
    return this.#whole
  }

  /** `$<n>\r\n<channel>\r\n$<body length>\r\n`: the same for every subscriber of one message. */
  tailOf(subject: string, bodyLength: number): Buffer {
    if (subject !== this.#tailSubject || bodyLength !== this.#tailLen) {
      const channel = this.channelOf(subject)
      const head = `$${channel.length}\r\n`
      const end = `\r\n$${bodyLength}\r\n`
      const t = Buffer.allocUnsafe(head.length + channel.length + end.length)
      t.write(head, 0, 'latin1')
      channel.copy(t, head.length)
      t.write(end, head.length + channel.length, 'latin1')
      this.#tail = t
      this.#tailSubject = subject
      this.#tailLen = bodyLength
    }
    return this.#tail
  }
}
