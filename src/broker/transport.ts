// The byte pipe under a client connection: a TCP/TLS socket or a WebSocket carrying binary frames.
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/** Bytes a socket may hold beyond the kernel before the client keeps the rest (see Client.flush). */
const WRITE_WINDOW = 1024 * 1024

export interface Transport {
  readonly kind: 'tcp' | 'tls' | 'ws'
  /** Bytes accepted by the transport but not yet written to the kernel. */
  readonly pendingBytes: number
  readonly needsDrain: boolean
  /** False while earlier writes wait for the kernel: more is better kept by the caller until 'drain'. */
  readonly canWrite: boolean
  /** Bytes handed to `write` since the start; minus `pendingBytes`, what the peer's side has taken. */
  readonly writtenBytes: number
  /** Writes the chunks of one flush (one syscall where the transport allows it). */
  write(chunks: Buffer[]): void
  /** Stops reading from the peer (producer flow control); `resumeReads` undoes it. */
  pauseReads(): void
  resumeReads(): void
  /** Flushes what was written, then closes. */
  end(): void
  destroy(): void
}

export class SocketTransport implements Transport {
  readonly kind: 'tcp' | 'tls'
  readonly socket: Socket
  writtenBytes = 0

  constructor(socket: Socket, kind: 'tcp' | 'tls') {
    this.socket = socket
    this.kind = kind
  }

  get pendingBytes(): number {
    return this.socket.writableLength
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain
  }

  /** Up to WRITE_WINDOW bytes may wait in Node's stream (in writes of MAX_WRITE): fewer 'drain' round trips than stopping at the first full write. */
  get canWrite(): boolean {
    return this.socket.writableLength < WRITE_WINDOW
  }

  write(chunks: Buffer[]): void {
    const s = this.socket
    if (s.destroyed || !s.writable) return
    if (chunks.length === 1) {
      const c = chunks[0] as Buffer
      this.writtenBytes += c.length
      s.write(c)
      return
    }
    s.cork()
    for (const c of chunks) {
      this.writtenBytes += c.length
      s.write(c)
    }
    s.uncork()
  }

  pauseReads(): void {
    this.socket.pause()
  }

  resumeReads(): void {
    if (!this.socket.destroyed) this.socket.resume()
  }

  end(): void {
    this.socket.end()
    // A peer that never reads would keep the socket half-open forever.
    setTimeout(() => this.socket.destroy(), 2_000).unref()
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export class WsTransport implements Transport {
  readonly kind = 'ws' as const
  readonly ws: WebSocket
  writtenBytes = 0

  constructor(ws: WebSocket) {
    this.ws = ws
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount
  }

  get needsDrain(): boolean {
    return this.ws.bufferedAmount > 1024 * 1024
  }

  /** No 'drain' is wired for WebSockets: everything goes to `ws` at once, as before. */
  get canWrite(): boolean {
    return true
  }

  write(chunks: Buffer[]): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
    this.writtenBytes += data.length
    this.ws.send(data, { binary: true })
  }

  pauseReads(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.pause()
  }

  resumeReads(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.resume()
  }

  end(): void {
    this.ws.close()
    setTimeout(() => this.ws.terminate(), 2_000).unref()
  }

  destroy(): void {
    this.ws.terminate()
  }
}
