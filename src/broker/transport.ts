// The byte pipe under a client connection: a TCP/TLS socket or a WebSocket carrying binary frames.
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

export interface Transport {
  readonly kind: 'tcp' | 'tls' | 'ws'
  /** Bytes accepted by the transport but not yet written to the kernel. */
  readonly pendingBytes: number
  readonly needsDrain: boolean
  /** Writes the chunks of one flush (one syscall where the transport allows it). */
  write(chunks: Buffer[]): void
  /** Flushes what was written, then closes. */
  end(): void
  destroy(): void
}

export class SocketTransport implements Transport {
  readonly kind: 'tcp' | 'tls'
  readonly socket: Socket

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

  write(chunks: Buffer[]): void {
    const s = this.socket
    if (s.destroyed || !s.writable) return
    if (chunks.length === 1) {
      s.write(chunks[0] as Buffer)
      return
    }
    s.cork()
    for (const c of chunks) s.write(c)
    s.uncork()
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

  constructor(ws: WebSocket) {
    this.ws = ws
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount
  }

  get needsDrain(): boolean {
    return this.ws.bufferedAmount > 1024 * 1024
  }

  write(chunks: Buffer[]): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.ws.send(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), { binary: true })
  }

  end(): void {
    this.ws.close()
    setTimeout(() => this.ws.terminate(), 2_000).unref()
  }

  destroy(): void {
    this.ws.terminate()
  }
}
