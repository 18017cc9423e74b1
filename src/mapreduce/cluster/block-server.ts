// Worker-to-worker shuffle block service. Each worker listens on its own port (same framing and
// secret as the coordinator); a fetcher asks for a block by id and receives it in chunks, each
// frame checksummed, plus a crc32 of the whole block at the end. The sender waits for 'drain'
// whenever the socket buffer is full, so a slow fetcher slows the sender instead of filling RAM.
import { open } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { crc32 } from 'node:zlib'
import type { Logger } from '../../internal/logger.js'
import { silentLogger } from '../../internal/logger.js'
import type { Connection, Message } from './connection.js'
import { ClusterErrorCodes } from './errors.js'
import { acceptConnection } from './handshake.js'
import type { ResolvedCommon } from './options.js'

/** Where the bytes of a block live on this worker's disk. */
export interface BlockLocation {
  path: string
  offset: number
  length: number
}

export type BlockResolver = (blockId: string) => BlockLocation | undefined | Promise<BlockLocation | undefined>

export interface BlockServerStats {
  blocksServed: number
  bytesServed: number
  notFound: number
}

export class BlockServer {
  readonly #server: Server
  readonly #resolve: BlockResolver
  readonly #options: ResolvedCommon
  readonly #logger: Logger
  readonly #sockets = new Set<Socket>()
  readonly stats: BlockServerStats = { blocksServed: 0, bytesServed: 0, notFound: 0 }
  #port = 0

  private constructor(options: ResolvedCommon, resolve: BlockResolver, logger: Logger) {
    this.#options = options
    this.#resolve = resolve
    this.#logger = logger
    this.#server = createServer((socket) => this.#accept(socket))
  }

  static async start(options: ResolvedCommon, resolve: BlockResolver, listen: { host: string; port: number }, logger?: Logger): Promise<BlockServer> {
    const s = new BlockServer(options, resolve, logger ?? silentLogger())
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
    socket.on('close', () => this.#sockets.delete(socket))
    acceptConnection(socket, { ...this.#options, timeoutMs: this.#options.handshakeTimeoutMs }, ['fetcher']).then(
      (conn) => {
        // One transfer at a time per connection keeps ordering simple; fetchers open several.
        let queue = Promise.resolve()
        conn.handle('fetch', (msg) => {
          queue = queue.then(() => this.#send(conn, msg)).catch((err: unknown) => {
            this.#logger.warn({ err: (err as Error).message }, 'block send failed')
          })
        })
        conn.start()
      },
      () => {},
    )
  }

  async #send(conn: Connection, msg: Message): Promise<void> {
    const sid = msg.sid
    const blockId = String(msg.block)
    const loc = await this.#resolve(blockId)
    if (loc === undefined) {
      this.stats.notFound++
      conn.send({ t: 'block-missing', sid, code: ClusterErrorCodes.FETCH_FAILED })
      return
    }
    let fh
    try {
      fh = await open(loc.path, 'r')
    } catch {
      this.stats.notFound++
      conn.send({ t: 'block-missing', sid, code: ClusterErrorCodes.FETCH_FAILED })
      return
    }
    try {
      conn.send({ t: 'block-begin', sid, length: loc.length })
      const chunk = this.#options.blockChunkBytes
      let crc = 0
      let pos = 0
      while (pos < loc.length) {
        const buf = Buffer.allocUnsafe(Math.min(chunk, loc.length - pos))
        const { bytesRead } = await fh.read(buf, 0, buf.length, loc.offset + pos)
        if (bytesRead === 0) throw new Error(`block ${blockId} is shorter than its index says`)
        const data = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
        crc = crc32(data, crc)
        pos += bytesRead
        if (!conn.send({ t: 'block-data', sid, data })) await conn.drained()
      }
      conn.send({ t: 'block-end', sid, crc })
      this.stats.blocksServed++
      this.stats.bytesServed += loc.length
    } finally {
      await fh.close()
    }
  }
}
