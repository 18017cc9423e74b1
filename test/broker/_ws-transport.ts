// A WebSocket transport for the `nats` client (the role nats.ws plays in browsers), built on the
// `ws` package, so the conformance suite can drive a real NATS client over binary WebSocket frames.
import WebSocket from 'ws'
import { NatsConnectionImpl, setTransportFactory } from 'nats/lib/nats-base-client/internal_mod.js'
import type { ConnectionOptions, NatsConnection } from 'nats'
import type { Server } from 'nats/lib/nats-base-client/core.js'

class WsClientTransport {
  readonly lang = 'nats.ws-test'
  readonly version = '0.0.0'
  isClosed = false
  closeError: Error | undefined
  #ws: WebSocket | undefined
  #queue: Uint8Array[] = []
  #wake: (() => void) | undefined
  #done = false
  readonly #closed: Promise<void | Error>
  #resolveClosed!: (v: void | Error) => void

  constructor() {
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve))
  }

  connect(server: Server, _opts: ConnectionOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${server.hostname}:${server.port}`)
      ws.binaryType = 'nodebuffer'
      this.#ws = ws
      ws.once('open', () => resolve())
      ws.once('error', (err) => {
        reject(err)
        this.#end()
      })
      ws.on('message', (data: Buffer) => {
        this.#queue.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
        this.#wake?.()
      })
      ws.on('close', () => this.#end())
    })
  }

  #end(): void {
    if (this.#done) return
    this.#done = true
    this.isClosed = true
    this.#wake?.()
    this.#resolveClosed(this.closeError)
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    while (true) {
      const next = this.#queue.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (this.#done) return
      await new Promise<void>((r) => (this.#wake = r))
      this.#wake = undefined
    }
  }

  isEncrypted(): boolean {
    return false
  }

  send(frame: Uint8Array): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(frame)
  }

  async close(err?: Error): Promise<void> {
    this.closeError = err
    this.#ws?.close()
    await this.#closed
  }

  disconnect(): void {
    this.#ws?.terminate()
  }

  closed(): Promise<void | Error> {
    return this.#closed
  }

  discard(): void {}
}

/** Connects the `nats` client over WebSocket. */
export async function wsConnect(opts: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({ factory: () => new WsClientTransport() as never, defaultPort: 80 })
  return (await NatsConnectionImpl.connect(opts)) as NatsConnection
}
