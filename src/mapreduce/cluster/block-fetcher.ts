// Fetches shuffle blocks from other workers' block servers. Connections are pooled per address;
// received chunks go to a consumer that may apply backpressure (the socket is paused until its
// promise settles). Any failure — refused, closed mid-block, checksum, missing — becomes one
// FetchFailedError naming the block and the worker, which the scheduler turns into recomputation.
import { crc32 } from 'node:zlib'
import { ClusterError, ClusterErrorCodes, errorCode } from './errors.js'
import type { Connection, Message } from './connection.js'
import { openConnection } from './handshake.js'
import type { ResolvedCommon } from './options.js'

export class FetchFailedError extends ClusterError {
  readonly blockId: string
  readonly address: string
  readonly workerId: string

  constructor(blockId: string, address: string, workerId: string, reason: string, cause?: unknown) {
    super(ClusterErrorCodes.FETCH_FAILED, `Cannot fetch shuffle block ${blockId} from worker ${workerId} at ${address}: ${reason}`, cause === undefined ? undefined : { cause })
    this.blockId = blockId
    this.address = address
    this.workerId = workerId
  }
}

export interface BlockSink {
  /** Called per segment (boundaries as the server sent them), in order; a returned promise pauses the transfer until it settles. */
  data(segment: Buffer): void | Promise<void>
}

interface Transfer {
  sink: BlockSink
  parts: Buffer[]
  received: number
  crc: number
  begun: boolean
  resolve: (bytes: number) => void
  reject: (err: Error) => void
  blockId: string
}

export class BlockFetcher {
  readonly #options: ResolvedCommon
  readonly #conns = new Map<string, Promise<Connection>>()
  readonly #transfers = new Map<Connection, Map<number, Transfer>>()
  #nextSid = 1
  bytesFetched = 0
  blocksFetched = 0

  constructor(options: ResolvedCommon) {
    this.#options = options
  }

  /** Streams one block into `sink`; resolves with its length. */
  async fetch(host: string, port: number, workerId: string, blockId: string, sink: BlockSink): Promise<number> {
    const address = `${host}:${port}`
    let conn: Connection
    try {
      conn = await this.#connection(host, port)
    } catch (err) {
      throw new FetchFailedError(blockId, address, workerId, (err as Error).message, err)
    }
    const sid = this.#nextSid++
    const transfers = this.#transfers.get(conn) as Map<number, Transfer>
    return new Promise<number>((resolve, reject) => {
      const fail = (reason: string, cause?: unknown): void => {
        transfers.delete(sid)
        reject(new FetchFailedError(blockId, address, workerId, reason, cause))
      }
      transfers.set(sid, {
        sink,
        parts: [],
        received: 0,
        crc: 0,
        begun: false,
        blockId,
        resolve: (n) => {
          transfers.delete(sid)
          this.bytesFetched += n
          this.blocksFetched++
          resolve(n)
        },
        reject: (e) => fail(e.message, e),
      })
      if (conn.closed) fail('connection closed')
      else conn.send({ t: 'fetch', sid, block: blockId })
    })
  }

  /** Convenience: the whole block in memory. */
  async fetchBuffer(host: string, port: number, workerId: string, blockId: string): Promise<Buffer> {
    const parts: Buffer[] = []
    await this.fetch(host, port, workerId, blockId, { data: (c) => void parts.push(Buffer.from(c)) })
    return Buffer.concat(parts)
  }

  close(): void {
    for (const p of this.#conns.values()) p.then((c) => c.close(), () => {})
    this.#conns.clear()
  }

  #connection(host: string, port: number): Promise<Connection> {
    const key = `${host}:${port}`
    const existing = this.#conns.get(key)
    if (existing !== undefined) return existing
    const p = openConnection(host, port, 'fetcher', { ...this.#options, timeoutMs: this.#options.handshakeTimeoutMs }).then((conn) => {
      const transfers = new Map<number, Transfer>()
      this.#transfers.set(conn, transfers)
      conn.handleOther((msg) => this.#onMessage(conn, transfers, msg))
      conn.onClose((err) => {
        this.#conns.delete(key)
        this.#transfers.delete(conn)
        for (const t of [...transfers.values()]) t.reject(new Error(`connection closed${err ? `: ${err.message}${errorCode(err) === undefined ? '' : ` [${errorCode(err)}]`}` : ''}`))
      })
      conn.start()
      return conn
    })
    this.#conns.set(key, p)
    p.catch(() => this.#conns.delete(key))
    return p
  }

  #onMessage(conn: Connection, transfers: Map<number, Transfer>, msg: Message): void {
    const t = transfers.get(Number(msg.sid))
    if (t === undefined) return
    switch (msg.t) {
      case 'block-missing':
        t.reject(new Error(typeof msg.message === 'string' ? `the worker cannot serve it: ${msg.message}` : 'the worker does not have it'))
        return
      case 'block-begin':
        t.begun = true
        return
      case 'block-data': {
        const data = msg.data as Buffer
        t.crc = crc32(data, t.crc)
        t.received += data.length
        t.parts.push(data)
        if (msg.last !== true) return
        const segment = t.parts.length === 1 ? (t.parts[0] as Buffer) : Buffer.concat(t.parts)
        t.parts = []
        let out: void | Promise<void>
        try {
          out = t.sink.data(segment)
        } catch (err) {
          t.reject(err as Error)
          return
        }
        if (out instanceof Promise) {
          conn.pause()
          out.then(
            () => conn.resume(),
            (err: unknown) => {
              conn.resume()
              t.reject(err as Error)
            },
          )
        }
        return
      }
      case 'block-end':
        if (!t.begun || t.received !== Number(msg.length) || t.parts.length > 0) t.reject(new Error(`got ${t.received} of ${String(msg.length)} bytes`))
        else if (Number(msg.crc) !== t.crc) t.reject(new Error('block checksum mismatch'))
        else t.resolve(t.received)
        return
      default:
        return
    }
  }
}
