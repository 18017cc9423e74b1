// Shared helpers for the RESP tests: a broker with RESP on port 0, and a raw RESP client that sends
// commands and reads replies one at a time (strings for bulk/simple, {error}, {push: [...]}, null),
// the way Redis's own test suite reads with a deferring client.
import { connect as netConnect, type Socket } from 'node:net'
import { startBroker, type Broker, type BrokerOptions } from '../../../src/broker/index.js'

type After = { after(fn: () => Promise<void> | void): void }

export async function respBroker(t: After, extra: Partial<BrokerOptions> = {}): Promise<Broker> {
  const b = await startBroker({ port: 0, host: '127.0.0.1', monitorPort: false, resp: { port: 0 }, ...extra })
  t.after(() => b.close())
  return b
}

export type Reply = string | number | null | boolean | { error: string } | { push: Reply[] } | { map: [Reply, Reply][] } | Reply[] | Buffer

/** Encodes a command as a RESP multibulk request. */
export function command(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

class Incomplete extends Error {}

/** Parses one RESP value at `pos`; throws Incomplete when more bytes are needed. `binary` keeps bulks as Buffers. */
export function parseReply(buf: Buffer, pos: number, binary = false): [Reply, number] {
  const nl = buf.indexOf('\r\n', pos)
  if (nl < 0) throw new Incomplete()
  const type = String.fromCharCode(buf[pos] as number)
  const line = buf.toString('utf8', pos + 1, nl)
  let p = nl + 2
  const aggregate = (n: number): [Reply[], number] => {
    const items: Reply[] = []
    for (let i = 0; i < n; i++) {
      const [v, q] = parseReply(buf, p, binary)
      items.push(v)
      p = q
    }
    return [items, p]
  }
  switch (type) {
    case '+':
      return [line, p]
    case '-':
      return [{ error: line }, p]
    case ':':
      return [Number(line), p]
    case '_':
      return [null, p]
    case '#':
      return [line === 't', p]
    case ',':
      return [Number(line), p]
    case '$':
    case '=': {
      const n = Number(line)
      if (n < 0) return [null, p]
      if (buf.length < p + n + 2) throw new Incomplete()
      // A verbatim string (`=`) starts with its format, `txt:`.
      const body = buf.subarray(type === '=' ? p + 4 : p, p + n)
      return [binary ? Buffer.from(body) : body.toString(), p + n + 2]
    }
    case '*':
    case '~': {
      const n = Number(line)
      if (n < 0) return [null, p]
      return aggregate(n)
    }
    case '>': {
      const [items, q] = aggregate(Number(line))
      return [{ push: items }, q]
    }
    case '%': {
      const [items, q] = aggregate(Number(line) * 2)
      const pairs: [Reply, Reply][] = []
      for (let i = 0; i < items.length; i += 2) pairs.push([items[i] as Reply, items[i + 1] as Reply])
      return [{ map: pairs }, q]
    }
    default:
      throw new Error(`bad reply type ${JSON.stringify(type)} in ${JSON.stringify(buf.toString('latin1', pos, pos + 40))}`)
  }
}

export class RawResp {
  readonly socket: Socket
  #buf = Buffer.alloc(0)
  #waiters: (() => void)[] = []
  closed = false
  binary = false

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d])
      for (const w of this.#waiters.splice(0)) w()
    })
    socket.on('close', () => {
      this.closed = true
      for (const w of this.#waiters.splice(0)) w()
    })
    socket.on('error', () => {})
  }

  static async open(port: number, t?: After): Promise<RawResp> {
    const socket = netConnect({ port, host: '127.0.0.1' })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    const c = new RawResp(socket)
    t?.after(() => c.close())
    return c
  }

  send(...args: (string | Buffer)[]): void {
    this.socket.write(command(...args))
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** The next reply (bounded wait). */
  async read(ms = 3000): Promise<Reply> {
    return (await this.#next(ms))[0]
  }

  /** The next reply's raw bytes, as the server sent them. */
  async readRaw(ms = 3000): Promise<Buffer> {
    return (await this.#next(ms))[1]
  }

  async #next(ms: number): Promise<[Reply, Buffer]> {
    const end = Date.now() + ms
    for (;;) {
      if (this.#buf.length > 0) {
        try {
          const [v, p] = parseReply(this.#buf, 0, this.binary)
          const raw = Buffer.from(this.#buf.subarray(0, p))
          this.#buf = this.#buf.subarray(p)
          return [v, raw]
        } catch (err) {
          if (!(err instanceof Incomplete)) throw err
        }
      }
      if (this.closed) throw new Error(`connection closed; unread ${JSON.stringify(this.#buf.toString('latin1'))}`)
      const left = end - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for a reply; buffered ${JSON.stringify(this.#buf.toString('latin1').slice(0, 200))}`)
      await new Promise<void>((resolve) => {
        const tm = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(tm)
          resolve()
        })
      })
    }
  }

  /** Sends a command and reads its reply. */
  async call(...args: (string | Buffer)[]): Promise<Reply> {
    this.send(...args)
    return this.read()
  }

  /** Waits for the server to close the connection; returns what was left unread. */
  async closedByServer(ms = 3000): Promise<string> {
    const end = Date.now() + ms
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    if (!this.closed) throw new Error('connection still open')
    return this.#buf.toString('latin1')
  }

  /** Nothing arrives within `ms`. */
  async quiet(ms = 100): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms))
    return this.#buf.length === 0
  }

  close(): void {
    this.socket.destroy()
  }
}

/** Reads `n` replies that must be [kind, name, count] subscription confirmations; returns the counts. */
export async function confirmations(c: RawResp, kind: string, names: string[]): Promise<number[]> {
  const counts: number[] = []
  for (const name of names) {
    const r = unpush(await c.read()) as Reply[]
    if (r[0] !== kind || r[1] !== name) throw new Error(`expected ${kind} ${name}, got ${JSON.stringify(r)}`)
    counts.push(r[2] as number)
  }
  return counts
}

/** A RESP3 push's items, or the array itself (RESP2). */
export function unpush(r: Reply): Reply {
  return r !== null && typeof r === 'object' && !Array.isArray(r) && !Buffer.isBuffer(r) && 'push' in r ? r.push : r
}

export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
