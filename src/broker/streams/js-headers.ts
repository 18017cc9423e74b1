// Header blocks as stored in the log (raw `NATS/1.0` bytes) and as handed to the embedded broker
// (MsgHeadersLike). Kept here so the stream store does not depend on the core's header class.
import type { MsgHeadersLike } from '../types.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

export class JsHeaders implements MsgHeadersLike {
  code = 0
  description = ''
  readonly #fields: [string, string][] = []

  static status(code: number, description: string): JsHeaders {
    const h = new JsHeaders()
    h.code = code
    h.description = description
    return h
  }

  static parse(bytes: Uint8Array): JsHeaders {
    const h = new JsHeaders()
    const lines = dec.decode(bytes).split('\r\n')
    const first = lines[0] ?? ''
    const m = /^NATS\/1\.0(?:\s+(\d{3})(?:\s+(.*))?)?$/.exec(first.trim())
    if (m !== null && m[1] !== undefined) {
      h.code = Number(m[1])
      h.description = (m[2] ?? '').trim()
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      if (line === '') continue
      const c = line.indexOf(':')
      if (c <= 0) continue
      h.#fields.push([line.slice(0, c).trim(), line.slice(c + 1).trim()])
    }
    return h
  }

  static from(like: MsgHeadersLike): JsHeaders {
    const h = JsHeaders.status(like.code, like.description)
    for (const [k, v] of like.entries()) h.#fields.push([k, v])
    return h
  }

  append(name: string, value: string): this {
    this.#fields.push([name, value])
    return this
  }

  set(name: string, value: string): this {
    this.delete(name)
    this.#fields.push([name, value])
    return this
  }

  delete(name: string): void {
    for (let i = this.#fields.length - 1; i >= 0; i--) if ((this.#fields[i] as [string, string])[0] === name) this.#fields.splice(i, 1)
  }

  get(name: string): string | undefined {
    for (const [k, v] of this.#fields) if (k === name) return v
    const lower = name.toLowerCase()
    for (const [k, v] of this.#fields) if (k.toLowerCase() === lower) return v
    return undefined
  }

  values(name: string): string[] {
    return this.#fields.filter(([k]) => k === name).map(([, v]) => v)
  }

  has(name: string): boolean {
    return this.get(name) !== undefined
  }

  entries(): IterableIterator<[string, string]> {
    return this.#fields[Symbol.iterator]()
  }

  get size(): number {
    return this.#fields.length
  }

  encode(): Uint8Array {
    let s = 'NATS/1.0'
    if (this.code > 0) s += ` ${this.code}${this.description === '' ? '' : ` ${this.description}`}`
    s += '\r\n'
    for (const [k, v] of this.#fields) s += `${k}: ${v}\r\n`
    return enc.encode(`${s}\r\n`)
  }
}

/** Raw header bytes for a broker message's headers; undefined when there are none. */
export function encodeHeaders(like: MsgHeadersLike | undefined): Uint8Array | undefined {
  if (like === undefined) return undefined
  if (like instanceof JsHeaders) return like.encode()
  return JsHeaders.from(like).encode()
}
