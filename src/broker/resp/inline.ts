// Inline commands (`PING`, `SUBSCRIBE a b` typed into telnet): split as Redis's sdssplitargs does.
// Blanks separate arguments; "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes; 'single
// quotes' take \' only; a closing quote must be followed by a blank or the end. A NUL byte ends the
// line, as it ends the C string Redis splits.

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

const ESCAPES: Record<number, number> = { 110: 10, 114: 13, 116: 9, 98: 8, 97: 7 }

/** The arguments of an inline line (without its line break); undefined for unbalanced quotes. */
export function splitInline(line: Buffer): Buffer[] | undefined {
  let end = line.indexOf(0)
  if (end < 0) end = line.length
  const at = (i: number): number => (i < end ? (line[i] as number) : 0)
  const args: Buffer[] = []
  let p = 0
  for (;;) {
    while (p < end && isSpace(at(p))) p++
    if (p >= end) return args
    const cur: number[] = []
    let inq = false
    let insq = false
    let done = false
    while (!done) {
      const c = at(p)
      if (inq) {
        if (c === 92 && at(p + 1) === 120 && hex(at(p + 2)) >= 0 && hex(at(p + 3)) >= 0) {
          cur.push(hex(at(p + 2)) * 16 + hex(at(p + 3)))
          p += 3
        } else if (c === 92 && at(p + 1) !== 0) {
          p++
          const e = at(p)
          cur.push(ESCAPES[e] ?? e)
        } else if (c === 34) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return undefined
          done = true
        } else if (c === 0) {
          return undefined
        } else cur.push(c)
      } else if (insq) {
        if (c === 92 && at(p + 1) === 39) {
          p++
          cur.push(39)
        } else if (c === 39) {
          if (at(p + 1) !== 0 && !isSpace(at(p + 1))) return undefined
          done = true
        } else if (c === 0) {
          return undefined
        } else cur.push(c)
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0) {
        done = true
      } else if (c === 34) {
        inq = true
      } else if (c === 39) {
        insq = true
      } else cur.push(c)
      if (c !== 0) p++
    }
    args.push(Buffer.from(cur))
  }
}
