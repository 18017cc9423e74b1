// Raw-socket helpers: drive a server with scripted protocol bytes and record what comes back,
// with the INFO line reduced to its stable fields so transcripts from different servers compare.
import { connect, type Socket } from 'node:net'

export function normalizeInfo(text: string): string {
  return text.replace(/INFO (\{.*?\}) ?\r\n/g, (_m, json: string) => {
    const info = JSON.parse(json) as Record<string, unknown>
    const keep = ['proto', 'headers', 'max_payload', 'auth_required', 'tls_required']
    const stable = Object.fromEntries(keep.filter((k) => k in info).map((k) => [k, info[k]]))
    return `INFO ${JSON.stringify(stable)}\r\n`
  })
}

export class RawClient {
  readonly socket: Socket
  out = ''
  closed = false
  #waiters: (() => void)[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.out += d.toString('latin1')
      this.#wake()
    })
    socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  #wake(): void {
    const w = this.#waiters
    this.#waiters = []
    for (const f of w) f()
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  /** Waits until the received text satisfies `cond` or the socket closes (bounded). */
  async waitFor(cond: (out: string) => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms
    while (!cond(this.out) && !this.closed) {
      const left = end - Date.now()
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.out)}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Sends bytes, then waits for `count` more PONGs (or close); returns what arrived meanwhile. */
  async step(input: string, pongs = 1): Promise<string> {
    const start = this.out.length
    const before = (this.out.match(/PONG\r\n/g) ?? []).length
    this.socket.write(Buffer.from(input, 'latin1'))
    await this.waitFor((o) => (o.match(/PONG\r\n/g) ?? []).length >= before + pongs)
    if (this.closed) await new Promise((r) => setTimeout(r, 20))
    return this.out.slice(start)
  }

  close(): void {
    this.socket.destroy()
  }
}
