// Redis channel names and NATS subjects (docs/broker.md, "Redis clients"): `.` separates tokens on
// both sides. Inside a token, the bytes a subject token cannot hold are percent-encoded, as the
// MQTT mapping does (mqtt/topic.ts): whitespace and other control bytes, DEL, `%` itself, bytes of
// invalid UTF-8, and `*`/`>` when they are the whole token; an empty token (`a..b`, a leading or
// trailing `.`, the empty channel) is the token `%`. The mapping is reversible for every channel;
// decoding never throws (`%` not followed by two hex digits stays as it is).

const HEX = '0123456789ABCDEF'
const utf8 = new TextDecoder('utf-8', { fatal: true })

function escapeByte(c: number): string {
  return `%${HEX[c >> 4]}${HEX[c & 15]}`
}

/** Bytes kept as they are in a token (printable ASCII other than `%` and `.`). */
function plainByte(c: number): boolean {
  return c > 32 && c < 127 && c !== 37 && c !== 46
}

function tokenOf(bytes: Buffer, from: number, to: number): string {
  if (from === to) return '%'
  if (to - from === 1) {
    const c = bytes[from] as number
    if (c === 42 || c === 62) return escapeByte(c)
  }
  let ascii = true
  for (let i = from; i < to; i++) {
    if ((bytes[i] as number) >= 128) {
      ascii = false
      break
    }
  }
  // Valid UTF-8 stays readable on the NATS side; otherwise every byte >= 0x80 is escaped.
  let keepHigh = false
  if (!ascii) {
    try {
      utf8.decode(bytes.subarray(from, to))
      keepHigh = true
    } catch {
      keepHigh = false
    }
  }
  let out = ''
  let run = from
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number
    if (plainByte(c) || (c >= 128 && keepHigh)) continue
    if (run < i) out += bytes.toString('utf8', run, i)
    out += escapeByte(c)
    run = i + 1
  }
  if (run < to) out += bytes.toString('utf8', run, to)
  return out
}

/** The literal subject a channel is published on and subscribed to. */
export function channelToSubject(channel: Buffer): string {
  // Fast path: printable ASCII, no `%`, no empty token, no lone `*`/`>`.
  const n = channel.length
  let plain = n > 0 && channel[0] !== 46 && channel[n - 1] !== 46
  if (plain) {
    let tokenStart = 0
    for (let i = 0; i < n; i++) {
      const c = channel[i] as number
      if (c === 46) {
        if (i === tokenStart) {
          plain = false
          break
        }
        tokenStart = i + 1
      } else if (!plainByte(c)) {
        plain = false
        break
      } else if ((c === 42 || c === 62) && i === tokenStart && (i + 1 === n || channel[i + 1] === 46)) {
        plain = false
        break
      }
    }
  }
  if (plain) return channel.toString('latin1')
  const parts: string[] = []
  let start = 0
  for (let i = 0; i <= n; i++) {
    if (i === n || channel[i] === 46) {
      parts.push(tokenOf(channel, start, i))
      start = i + 1
    }
  }
  return parts.join('.')
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

/** The channel a Redis client sees for a subject (NATS and MQTT messages included). */
export function subjectToChannel(subject: string): Buffer {
  if (subject.indexOf('%') < 0) return Buffer.from(subject)
  const raw = Buffer.from(subject)
  const out = Buffer.allocUnsafe(raw.length)
  let o = 0
  let tokenStart = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number
    if (c === 46) {
      out[o++] = 46
      tokenStart = i + 1
      continue
    }
    if (c === 37) {
      // The token `%` alone is an empty token.
      if (i === tokenStart && (i + 1 === raw.length || raw[i + 1] === 46)) continue
      const hi = i + 2 < raw.length ? hexValue(raw[i + 1] as number) : -1
      const lo = hi >= 0 ? hexValue(raw[i + 2] as number) : -1
      if (lo >= 0) {
        out[o++] = (hi << 4) | lo
        i += 2
        continue
      }
    }
    out[o++] = c
  }
  return out.subarray(0, o)
}
