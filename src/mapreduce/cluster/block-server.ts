// Worker-to-worker shuffle block service. Each worker listens on its own port (same framing and
// secret as the coordinator); a fetcher asks for a block by id and receives it in chunks, each
// frame checksummed, plus a crc32 of the whole block at the end. The sender waits for 'drain'
// whenever the socket buffer is full, so a slow fetcher slows the sender instead of filling RAM.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { crc32 } from 'node:zlib'
import type { Logger } from '../../internal/logger.js'
import { silentLogger } from '../../internal/logger.js'
import { peerAddress, type Connection, type Message } from './connection.js'
import { ClusterErrorCodes, errorCode } from './errors.js'
import { acceptConnection } from './handshake.js'
import type { ResolvedCommon } from './options.js'

/**
 * The bytes of a block as chunks that must reach the fetcher with their boundaries intact (the
 * engine's segments of whole frames). Throwing (or undefined) means the block does not exist.
 */
export type BlockSource = (blockId: string) => Iterable<Uint8Array> | AsyncIterable<Uint8Array> | undefined

export interface BlockServerStats {
  blocksServed: number
  bytesServed: number
  notFound: number
  /** Connections that failed the handshake (wrong secret, wrong role, silence). */
  authFailures: number
}

export class BlockServer {
  readonly #server: Server
  readonly #source: BlockSource
  readonly #options: ResolvedCommon
  readonly #logger: Logger
  readonly #sockets = new Set<Socket>()
  readonly stats: BlockServerStats = { blocksServed: 0, bytesServed: 0, notFound: 0, authFailures: 0 }
  #port = 0

  private constructor(options: ResolvedCommon, source: BlockSource, logger: Logger) {
    this.#options = options
    this.#source = source
    this.#logger = logger
    this.#server = createServer((socket) => this.#accept(socket))
  }

  static async start(options: ResolvedCommon, source: BlockSource, listen: { host: string; port: number }, logger?: Logger): Promise<BlockServer> {
    const s = new BlockServer(options, source, logger ?? silentLogger())
    await new Promise<void>((res, rej) => {
      s.#server.once('error', rej)
      s.#server.listen(listen.port, listen.host, () => {
        s.#server.off('error', rej)
        res()
      })
    })
    s.#port = (s.#server.address() as AddressInfo).port
    return s
  }

  get port(): number {
    return this.#port
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((r) => this.#server.close(() => r()))
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket)
    const peer = peerAddress(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    acceptConnection(socket, { ...this.#options, timeoutMs: this.#options.handshakeTimeoutMs }, ['fetcher']).then(
      (conn) => {
        conn.onClose((err) => {
          if (err !== undefined) this.#logger.warn({ peer, code: errorCode(err), err: err.message }, 'block connection closed on error')
        })
        // One transfer at a time per connection keeps ordering simple; fetchers open several.
        let queue = Promise.resolve()
        conn.handle('fetch', (msg) => {
          queue = queue.then(() => this.#send(conn, msg)).catch((err: unknown) => {
            this.#logger.warn({ err: (err as Error).message }, 'block send failed')
          })
        })
        conn.start()
      },
      (err: unknown) => {
        this.stats.authFailures++
        this.#logger.warn({ peer, code: errorCode(err), err: (err as Error).message }, 'rejected block fetcher')
      },
    )
  }

  async #send(conn: Connection, msg: Message): Promise<void> {
    const sid = msg.sid
    const blockId = String(msg.block)
    let chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> | undefined
    try {
      chunks = this.#source(blockId)
    } catch {
      chunks = undefined
    }
    if (chunks === undefined) {
      this.stats.notFound++
      conn.send({ t: 'block-missing', sid, code: ClusterErrorCodes.FETCH_FAILED })
      return
    }
    const step = this.#options.blockChunkBytes
    let crc = 0
    let total = 0
    let begun = false
    try {
      for await (const segment of chunks) {
        if (!begun) {
          conn.send({ t: 'block-begin', sid })
          begun = true
        }
        // Large segments go in several frames; `last` marks the end of a segment.
        for (let off = 0; off < segment.length || (off === 0 && segment.length === 0); off += step) {
          const data = segment.subarray(off, Math.min(segment.length, off + step))
          crc = crc32(data, crc)
          const last = off + step >= segment.length
          if (!conn.send({ t: 'block-data', sid, data, last })) await conn.drained()
          if (segment.length === 0) break
        }
        total += segment.length
      }
    } catch (err) {
      this.stats.notFound++
      conn.send({ t: 'block-missing', sid, code: ClusterErrorCodes.FETCH_FAILED, message: (err as Error).message })
      return
    }
    if (!begun) conn.send({ t: 'block-begin', sid })
    conn.send({ t: 'block-end', sid, crc, length: total })
    this.stats.blocksServed++
    this.stats.bytesServed += total
  }
}
