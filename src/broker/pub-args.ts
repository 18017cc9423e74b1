// Argument decoding for PUB and HPUB (`subject [reply] [hdr] size`), straight from the control
// line's bytes: the per-message part of parsing that is not a byte-at-a-time state.
import type { ControlLine } from './control-line.js'
import { ParseError, type ParseErrorKind } from './parser-handler.js'
import { EMPTY, SPACE, TAB } from './parser-states.js'

/** The pending publish; the parser owns one and reuses it for every PUB/HPUB. */
export class PubArgs {
  subject = ''
  reply = ''
  /** -1 for PUB. */
  hdrLen = -1
  size = 0
  /** Why the last parse() returned false. */
  error: ParseErrorKind = ParseError.BAD_ARGS
  detail = ''
  /** Token boundaries of a PUB/HPUB line: start/end pairs. */
  readonly #tok = new Int32Array(10)

  #reject(kind: ParseErrorKind, detail: string): void {
    this.error = kind
    this.detail = detail
  }

  /** Parses `subject [reply] [hdr] size` straight from bytes: no line string, no split array. */
  parse(line: ControlLine, headers: boolean, maxPayload: number): boolean {
    const b = line.bytes
    const end = line.to
    const tok = this.#tok
    let n = 0
    let i = line.from
    while (i < end) {
      let c = b[i] as number
      if (c === SPACE || c === TAB) {
        i++
        continue
      }
      if (n === 5) break
      tok[n * 2] = i
      while (i < end) {
        c = b[i] as number
        if (c === SPACE || c === TAB) break
        i++
      }
      tok[n * 2 + 1] = i
      n++
    }
    const want = headers ? 3 : 2
    if (n !== want && n !== want + 1) {
      this.#reject(ParseError.BAD_ARGS, `${headers ? 'HPUB' : 'PUB'} takes ${want} or ${want + 1} arguments: ${line.quoted()}`)
      return false
    }
    const size = sizeAt(b, tok[(n - 1) * 2] as number, tok[(n - 1) * 2 + 1] as number)
    let hdr = -1
    if (headers) {
      hdr = sizeAt(b, tok[(n - 2) * 2] as number, tok[(n - 2) * 2 + 1] as number)
      if (hdr < 0 || size < 0 || hdr > size) {
        this.#reject(ParseError.BAD_ARGS, `HPUB sizes in ${line.quoted()} are not valid`)
        return false
      }
    } else if (size < 0) {
      this.#reject(ParseError.BAD_ARGS, `PUB size in ${line.quoted()} is not a number`)
      return false
    }
    if (size > maxPayload) {
      this.#reject(ParseError.MAX_PAYLOAD, `size ${size} exceeds max_payload ${maxPayload}`)
      return false
    }
    const hasReply = n === want + 1
    this.subject = subjectAt(b, tok[0] as number, tok[1] as number, this.subject)
    this.reply = hasReply ? b.toString('utf8', tok[2] as number, tok[3] as number) : ''
    this.hdrLen = hdr
    this.size = size
    line.bytes = EMPTY
    return true
  }
}

/** Decimal size from bytes; -1 when not a number. */
function sizeAt(b: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1
  let n = 0
  for (let i = s; i < e; i++) {
    const d = (b[i] as number) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Decodes a subject, reusing the previous string when the bytes are the same (publishers repeat subjects). */
function subjectAt(b: Buffer, s: number, e: number, prev: string): string {
  const len = e - s
  if (prev.length === len) {
    let same = true
    for (let i = 0; i < len; i++) {
      const c = b[s + i] as number
      if (c >= 128 || prev.charCodeAt(i) !== c) {
        same = false
        break
      }
    }
    if (same) return prev
  }
  return b.toString('utf8', s, e)
}
