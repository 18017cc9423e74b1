// Text inputs. Driver side: expand paths, globs and directories, then cut files into byte-range
// splits (gzip files stay whole). Worker side: read a split as batches of lines, where a line
// belongs to the split holding its first byte (the Hadoop rule), so splits never lose or repeat
// a line. Also parses JSON lines and CSV.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { createGunzip } from 'node:zlib'
import { JobError, JobErrorCodes } from './errors.js'
import type { CsvSpec, TextSplit } from './task-spec.js'

const hasGlob = (s: string): boolean => /[*?[\]{}]/.test(s)

function globToRegex(segment: string): RegExp {
  let re = ''
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = segment.indexOf(']', i)
      if (end < 0) re += '\\['
      else { re += `[${segment.slice(i + 1, end).replace(/^!/, '^')}]`; i = end }
    } else if (c === '{') {
      const end = segment.indexOf('}', i)
      if (end < 0) re += '\\{'
      else { re += `(?:${segment.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|\\]/g, '\\$&')).join('|')})`; i = end }
    } else re += c.replace(/[.+^$()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

function walkFiles(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.startsWith('_')) continue
    const full = join(dir, name)
    if (statSync(full).isDirectory()) walkFiles(full, out)
    else out.push(full)
  }
}

function expandGlob(pattern: string): string[] {
  const abs = resolve(pattern)
  const parts: string[] = abs.split(sep)
  let base: string = sep
  let i = 1
  while (i < parts.length && !hasGlob(parts[i] as string)) { base = join(base, parts[i] as string); i++ }
  let current: string[] = [base]
  for (; i < parts.length; i++) {
    const seg = parts[i] as string
    const next: string[] = []
    if (seg === '**') {
      for (const d of current) {
        const stack = [d]
        while (stack.length > 0) {
          const x = stack.pop() as string
          next.push(x)
          if (!existsSync(x) || !statSync(x).isDirectory()) continue
          for (const n of readdirSync(x)) if (statSync(join(x, n)).isDirectory()) stack.push(join(x, n))
        }
      }
    } else {
      const re = globToRegex(seg)
      for (const d of current) {
        if (!existsSync(d) || !statSync(d).isDirectory()) continue
        for (const n of readdirSync(d)) if (re.test(n)) next.push(join(d, n))
      }
    }
    current = next
  }
  return current.filter((f) => existsSync(f)).sort()
}

/** Files named by paths, globs (`*`, `?`, `[..]`, `{a,b}`, `**`) and directories (recursive; `_`/`.` names skipped). */
export function expandInputs(inputs: string | readonly string[]): string[] {
  const list = typeof inputs === 'string' ? [inputs] : inputs
  const files: string[] = []
  for (const p of list) {
    const matches = hasGlob(p) ? expandGlob(p) : existsSync(p) ? [resolve(p)] : []
    if (matches.length === 0) throw new JobError(JobErrorCodes.INPUT_NOT_FOUND, `No input file matches "${p}"`)
    for (const m of matches) {
      if (statSync(m).isDirectory()) walkFiles(m, files)
      else files.push(m)
    }
  }
  if (files.length === 0) throw new JobError(JobErrorCodes.INPUT_NOT_FOUND, `No input file in ${JSON.stringify(list)}`)
  return [...new Set(files)]
}

/** Cuts files into splits of about `splitBytes`; small files are grouped into one partition. */
export function planSplits(files: readonly string[], splitBytes: number): TextSplit[][] {
  const partitions: TextSplit[][] = []
  let group: TextSplit[] = []
  let groupBytes = 0
  const closeGroup = (): void => {
    if (group.length > 0) partitions.push(group)
    group = []
    groupBytes = 0
  }
  for (const path of files) {
    const size = statSync(path).size
    const gzip = path.endsWith('.gz')
    if (gzip || size <= splitBytes) {
      if (groupBytes + size > splitBytes) closeGroup()
      group.push({ path, start: 0, end: -1, gzip })
      groupBytes += size
      continue
    }
    closeGroup()
    const n = Math.ceil(size / splitBytes)
    const step = Math.ceil(size / n)
    for (let s = 0; s < size; s += step) partitions.push([{ path, start: s, end: Math.min(size, s + step), gzip: false }])
  }
  closeGroup()
  return partitions
}

/**
 * planSplits, but when the files make a few splits whose count is not a multiple of `slots`
 * (workers), the splits are made smaller so it is: 7 splits on 2 workers would run as 4 + 3
 * tasks, the last round half idle; 8 slightly smaller splits keep both busy to the end.
 */
export function planBalancedSplits(files: readonly string[], splitBytes: number, slots: number): TextSplit[][] {
  const planned = planSplits(files, splitBytes)
  const n = planned.length
  if (slots <= 1 || n <= 1 || n % slots === 0 || n > 8 * slots) return planned
  const total = files.reduce((a, f) => a + statSync(f).size, 0)
  const target = Math.ceil(n / slots) * slots
  const balanced = planSplits(files, Math.max(1, Math.ceil(total / target)))
  return balanced.length % slots === 0 ? balanced : planned
}

const CHUNK = 1 << 20

function splitLines(text: string): string[] {
  const lines = text.split('\n')
  if (text.includes('\r')) for (let i = 0; i < lines.length; i++) { const l = lines[i] as string; if (l.endsWith('\r')) lines[i] = l.slice(0, -1) }
  return lines
}

/** Lines of one split, in batches. `onBytes` counts bytes read. */
export async function* readSplitLines(split: TextSplit, onBytes: (n: number) => void): AsyncGenerator<string[]> {
  if (split.gzip) {
    let carry = ''
    const stream = createReadStream(split.path).pipe(createGunzip({ chunkSize: CHUNK }))
    const decoder = new TextDecoder()
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes(chunk.length)
      const text = carry + decoder.decode(chunk, { stream: true })
      const last = text.lastIndexOf('\n')
      if (last < 0) { carry = text; continue }
      carry = text.slice(last + 1)
      yield splitLines(text.slice(0, last))
    }
    carry += decoder.decode()
    if (carry.length > 0) yield splitLines(carry)
    return
  }
  for (const chunk of readSplitBytes(split, onBytes)) yield splitLines(chunk.toString('utf8'))
}

/**
 * The bytes of a plain (not gzip) split as chunks of whole lines: each chunk holds one or more
 * lines separated by '\n', without the newline after its last line (so `chunk.toString('utf8')`
 * split on '\n' gives readSplitLines' batch, before '\r' stripping). Chunks are views of a reused
 * buffer, valid until the next iteration step. The fused byte-level operators read this directly.
 */
export function* readSplitBytes(split: TextSplit, onBytes: (n: number) => void, chunkBytes = CHUNK): Generator<Buffer> {
  if (split.gzip) throw new Error('readSplitBytes: gzip splits are read as text')
  // Synchronous reads: a thread-pool round trip per chunk costs more than the read itself,
  // and far more on a busy machine.
  const fd = openSync(split.path, 'r')
  try {
    const size = fstatSync(fd).size
    const end = split.end < 0 ? size : Math.min(split.end, size)
    let buf = Buffer.allocUnsafe(chunkBytes)
    let pos = split.start
    if (pos > 0) {
      // Skip the line that started in the previous split: resume after the first '\n' at or after start-1.
      let p = pos - 1
      for (;;) {
        const bytesRead = readSync(fd, buf, 0, buf.length, p)
        if (bytesRead === 0) return
        const nl = buf.subarray(0, bytesRead).indexOf(10)
        if (nl >= 0) { pos = p + nl + 1; break }
        p += bytesRead
      }
    }
    if (pos >= end) return
    // buf[0, have) holds unread bytes starting at file offset `base`.
    let have = 0
    let base = pos
    for (;;) {
      if (have === buf.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, have)
        buf = bigger
      }
      const bytesRead = readSync(fd, buf, have, buf.length - have, base + have)
      if (bytesRead === 0) {
        if (have > 0) yield buf.subarray(0, have)
        return
      }
      onBytes(bytesRead)
      const filled = have + bytesRead
      const last = buf.lastIndexOf(10, filled - 1)
      if (last < 0) { have = filled; continue }
      const endIdx = end - base - 1
      if (endIdx <= last) {
        // The split ends inside this chunk: our lines are those that start before `end`.
        const nl = buf.indexOf(10, Math.max(0, endIdx))
        yield buf.subarray(0, nl)
        return
      }
      yield buf.subarray(0, last)
      // Move the partial last line to the front (the consumer is done with the chunk).
      buf.copy(buf, 0, last + 1, filled)
      have = filled - last - 1
      base += last + 1
    }
  } finally {
    closeSync(fd)
  }
}

/** Splits one CSV line (RFC 4180 quotes; quoted fields may not contain line breaks). */
export function parseCsvLine(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter)
  const out: string[] = []
  let field = ''
  let i = 0
  let quoted = false
  while (i < line.length) {
    const c = line[i] as string
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') { field += '"'; i += 2; continue }
        quoted = false
      } else field += c
    } else if (c === '"') quoted = true
    else if (line.startsWith(delimiter, i)) { out.push(field); field = ''; i += delimiter.length; continue }
    else field += c
    i++
  }
  out.push(field)
  return out
}

type ColType = 'string' | 'number' | 'boolean' | 'json'

function convert(v: string, t: ColType | undefined): unknown {
  switch (t) {
    case 'number': return v === '' ? null : Number(v)
    case 'boolean': return v === 'true' || v === '1'
    case 'json': return v === '' ? null : JSON.parse(v)
    default: return v
  }
}

/** A function from a CSV line to a record: an object (header) or an array. */
export function csvRecordParser(spec: CsvSpec & { columns?: readonly string[] }): (line: string) => unknown {
  const cols = spec.columns
  const types = spec.types
  if (cols !== undefined) {
    const colTypes = cols.map((c, i) => (Array.isArray(types) ? (types as ColType[])[i] : (types as Record<string, ColType>)[c]))
    return (line) => {
      const f = parseCsvLine(line, spec.delimiter)
      const rec: Record<string, unknown> = {}
      for (let i = 0; i < cols.length; i++) rec[cols[i] as string] = convert(f[i] ?? '', colTypes[i])
      return rec
    }
  }
  const arr = Array.isArray(types) ? (types as ColType[]) : []
  return (line) => parseCsvLine(line, spec.delimiter).map((v, i) => convert(v, arr[i]))
}

export const fileLabel = (p: string): string => `${basename(dirname(p))}/${basename(p)}`
