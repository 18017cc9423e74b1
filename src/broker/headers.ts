// NATS message headers: the `NATS/1.0[ code[ description]]\r\n` status line followed by
// `Key: Value\r\n` fields and a blank line. Keys keep their case; lookups are case-sensitive first,
// then case-insensitive, as the nats.js client does.
import type { MsgHeadersLike } from './types.js'
import { BrokerError, BrokerErrorCodes } from './errors.js'

const PREFIX = 'NATS/1.0'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function checkName(name: string): void {
  if (name.length === 0 || /[\s:\r\n]/.test(name)) {
    throw new BrokerError(BrokerErrorCodes.BAD_HEADERS, `Cannot use header name ${JSON.stringify(name)}: names must be non-empty without spaces, colons or line breaks`)
  }
}

function checkValue(value: string): void {
  if (/[\r\n]/.test(value)) {
    throw new BrokerError(BrokerErrorCodes.BAD_HEADERS, `Cannot use header value ${JSON.stringify(value)}: values must not contain line breaks`)
  }
}

export class MsgHeaders implements MsgHeadersLike {
  #code = 0
  #description = ''
  /** Fields in insertion order; repeated keys are separate entries. */
  readonly #fields: [string, string][] = []

  get code(): number {
    return this.#code
  }

  get description(): string {
    return this.#description
  }

  /** A header block carrying only a status line, e.g. `MsgHeaders.status(503)`. */
  static status(code: number, description = ''): MsgHeaders {
    const h = new MsgHeaders()
    h.#code = code
    h.#description = description
    return h
  }

  /** Parses a complete header block (including the final blank line). Throws ERR_BROKER_BAD_HEADERS. */
  static parse(block: Uint8Array): MsgHeaders {
    const text = decoder.decode(block)
    if (!text.startsWith(PREFIX)) {
      throw new BrokerError(BrokerErrorCodes.BAD_HEADERS, `Cannot parse headers: block does not start with "${PREFIX}"`)
    }
    const lines = text.split('\r\n')
    const h = new MsgHeaders()
    const status = (lines[0] ?? '').slice(PREFIX.length).trim()
    if (status !== '') {
      const sp = status.indexOf(' ')
      const codeText = sp === -1 ? status : status.slice(0, sp)
      const code = Number.parseInt(codeText, 10)
      if (!Number.isFinite(code) || !/^\d+$/.test(codeText)) {
        throw new BrokerError(BrokerErrorCodes.BAD_HEADERS, `Cannot parse headers: status ${JSON.stringify(codeText)} is not a number`)
      }
      h.#code = code
      h.#description = sp === -1 ? '' : status.slice(sp + 1).trim()
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      if (line === '') continue
      const colon = line.indexOf(':')
      if (colon <= 0) {
        throw new BrokerError(BrokerErrorCodes.BAD_HEADERS, `Cannot parse headers: line ${JSON.stringify(line)} has no "name:"`)
      }
      h.#fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
    }
    return h
  }

  #key(name: string): string | undefined {
    for (const [k] of this.#fields) if (k === name) return k
    const lower = name.toLowerCase()
    for (const [k] of this.#fields) if (k.toLowerCase() === lower) return k
    return undefined
  }

  get(name: string): string | undefined {
    const k = this.#key(name)
    if (k === undefined) return undefined
    for (const [fk, v] of this.#fields) if (fk === k) return v
    return undefined
  }

  values(name: string): string[] {
    const k = this.#key(name)
    if (k === undefined) return []
    const out: string[] = []
    for (const [fk, v] of this.#fields) if (fk === k) out.push(v)
    return out
  }

  has(name: string): boolean {
    return this.#key(name) !== undefined
  }

  entries(): IterableIterator<[string, string]> {
    return this.#fields.map(([k, v]): [string, string] => [k, v])[Symbol.iterator]()
  }

  /** Replaces every value of `name` with one value. */
  set(name: string, value: string): this {
    checkName(name)
    checkValue(value)
    this.delete(name)
    this.#fields.push([name, value])
    return this
  }

  /** Adds one more value for `name`. */
  append(name: string, value: string): this {
    checkName(name)
    checkValue(value)
    const k = this.#key(name) ?? name
    this.#fields.push([k, value])
    return this
  }

  delete(name: string): this {
    const k = this.#key(name)
    if (k === undefined) return this
    for (let i = this.#fields.length - 1; i >= 0; i--) if ((this.#fields[i] as [string, string])[0] === k) this.#fields.splice(i, 1)
    return this
  }

  /** Sets the status line (code 0 means none). */
  setStatus(code: number, description = ''): this {
    this.#code = code
    this.#description = description
    return this
  }

  get size(): number {
    return this.#fields.length
  }

  toString(): string {
    let s = PREFIX
    if (this.#code !== 0) s += this.#description === '' ? ` ${this.#code}` : ` ${this.#code} ${this.#description}`
    s += '\r\n'
    for (const [k, v] of this.#fields) s += `${k}: ${v}\r\n`
    return `${s}\r\n`
  }

  encode(): Uint8Array {
    return encoder.encode(this.toString())
  }

  /** Encodes any MsgHeadersLike (ours or another implementation). */
  static encodeLike(h: MsgHeadersLike): Uint8Array {
    if (h instanceof MsgHeaders) return h.encode()
    const copy = h.code === 0 ? new MsgHeaders() : MsgHeaders.status(h.code, h.description)
    for (const [k, v] of h.entries()) copy.append(k, v)
    return copy.encode()
  }
}
