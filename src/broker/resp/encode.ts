// RESP2/RESP3 reply encoding. Replies are built as Buffers; the delivery hot path uses the cached
// heads in front-end.ts and writes the payload itself without copying it into a new frame.

export const CRLF = Buffer.from('\r\n')
export const OK = Buffer.from('+OK\r\n')
export const PONG = Buffer.from('+PONG\r\n')
export const RESET = Buffer.from('+RESET\r\n')
export const NIL2 = Buffer.from('$-1\r\n')
export const NIL3 = Buffer.from('_\r\n')
/** `message` push heads: RESP2 array, RESP3 push. */
export const MESSAGE2 = Buffer.from('*3\r\n$7\r\nmessage\r\n')
export const MESSAGE3 = Buffer.from('>3\r\n$7\r\nmessage\r\n')
export const SMESSAGE2 = Buffer.from('*3\r\n$8\r\nsmessage\r\n')
export const SMESSAGE3 = Buffer.from('>3\r\n$8\r\nsmessage\r\n')

export function simple(text: string): Buffer {
  return Buffer.from(`+${text}\r\n`)
}

/** An error reply; `text` starts with its code (`ERR ...`, `NOAUTH ...`). Line breaks become spaces, as Redis does. */
export function error(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]/g, ' ')}\r\n`)
}

/** Small integers (PUBLISH counts, subscription counts) are answered from a table. */
const SMALL_INTS = Array.from({ length: 1024 }, (_, i) => Buffer.from(`:${i}\r\n`))

export function integer(n: number): Buffer {
  return n >= 0 && n < SMALL_INTS.length ? (SMALL_INTS[n] as Buffer) : Buffer.from(`:${n}\r\n`)
}

export function bulk(value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value
  const head = Buffer.from(`$${b.length}\r\n`)
  return Buffer.concat([head, b, CRLF])
}

export function nil(resp3: boolean): Buffer {
  return resp3 ? NIL3 : NIL2
}

/** The head of an aggregate: `*n` array, `>n` push (RESP3), `%n` map (RESP3; RESP2 gets a flat array of 2n). */
export function arrayHead(n: number): Buffer {
  return Buffer.from(`*${n}\r\n`)
}

export function pushHead(n: number, resp3: boolean): Buffer {
  return Buffer.from(`${resp3 ? '>' : '*'}${n}\r\n`)
}

export function mapHead(n: number, resp3: boolean): Buffer {
  return Buffer.from(resp3 ? `%${n}\r\n` : `*${n * 2}\r\n`)
}

/** An array of bulk strings. */
export function bulkArray(items: readonly (Buffer | string)[]): Buffer {
  return Buffer.concat([arrayHead(items.length), ...items.map(bulk)])
}

/** A subscribe/unsubscribe confirmation: [kind, name or nil, count]. */
export function subscription(kind: string, name: Buffer | undefined, count: number, resp3: boolean): Buffer {
  return Buffer.concat([pushHead(3, resp3), bulk(kind), name === undefined ? nil(resp3) : bulk(name), integer(count)])
}

/** `$<len>\r\n<bytes>\r\n`-less prefix of a bulk: `$<len>\r\n`. */
export function bulkHead(len: number): Buffer {
  return Buffer.from(`$${len}\r\n`)
}
