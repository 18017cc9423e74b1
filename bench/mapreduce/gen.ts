// Deterministic benchmark data: a zipf-distributed word corpus and gensort-style 100-byte sort
// records. The same size and seed always give the same bytes.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { prng } from '../../src/internal/prng.js'


/** Writes `bytes` of text: lines of 8-16 words drawn from a zipf(1.0) vocabulary of `vocab` words. */
export function generateCorpus(path: string, bytes: number, seed = 42, vocab = 200_000): void {
  if (existsSync(path) && statSync(path).size >= bytes) return
  mkdirSync(dirname(path), { recursive: true })
  const rand = prng(seed)
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  const words: string[] = []
  const seen = new Set<string>()
  while (words.length < vocab) {
    const len = 2 + Math.floor(rand() * 9)
    let w = ''
    for (let i = 0; i < len; i++) w += letters[Math.floor(rand() * 26)]
    if (!seen.has(w)) { seen.add(w); words.push(w) }
  }
  // Zipf CDF over ranks, sampled through a 64K-entry lookup table plus binary search.
  const cdf = new Float64Array(vocab)
  let sum = 0
  for (let r = 0; r < vocab; r++) { sum += 1 / (r + 1); cdf[r] = sum }
  for (let r = 0; r < vocab; r++) cdf[r] = (cdf[r] as number) / sum
  const pick = (): string => {
    const u = rand()
    let lo = 0
    let hi = vocab - 1
    while (lo < hi) { const mid = (lo + hi) >>> 1; if ((cdf[mid] as number) < u) lo = mid + 1; else hi = mid }
    return words[lo] as string
  }
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  let written = 0
  let chunk: string[] = []
  let chunkLen = 0
  while (written + chunkLen < bytes) {
    const n = 8 + Math.floor(rand() * 9)
    const ws: string[] = []
    for (let i = 0; i < n; i++) ws.push(pick())
    const line = `${ws.join(' ')}\n`
    chunk.push(line)
    chunkLen += line.length
    if (chunkLen >= 1 << 22) { written += writeSync(fd, chunk.join('')); chunk = []; chunkLen = 0 }
  }
  if (chunk.length > 0) writeSync(fd, chunk.join(''))
  closeSync(fd)
  renameSync(tmp, path)
}

/** gensort-style records: 10 printable key bytes, 2 spaces, 32 hex digits of the record number, filler, CRLF = 100 bytes. */
export function generateRecords(path: string, records: number, seed = 7): void {
  if (existsSync(path) && statSync(path).size >= records * 100) return
  mkdirSync(dirname(path), { recursive: true })
  const rand = prng(seed)
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  const buf = Buffer.allocUnsafe(100 * 10_000)
  for (let i = 0; i < records; i += 10_000) {
    const n = Math.min(10_000, records - i)
    for (let r = 0; r < n; r++) {
      const o = r * 100
      for (let j = 0; j < 10; j++) buf[o + j] = 32 + Math.floor(rand() * 95)
      buf[o + 10] = 32
      buf[o + 11] = 32
      buf.write((i + r).toString(16).toUpperCase().padStart(32, '0'), o + 12, 'latin1')
      buf[o + 44] = 32
      buf[o + 45] = 32
      const fill = 65 + ((i + r) % 26)
      buf.fill(fill, o + 46, o + 98)
      buf[o + 98] = 13
      buf[o + 99] = 10
    }
    writeSync(fd, buf, 0, n * 100)
  }
  closeSync(fd)
  renameSync(tmp, path)
}

/**
 * Event records for the join / group / sort benches, about `bytes` of CSV lines
 * `id,user,amount,item`: `user` uniform over `users` ids (u0..), amount an integer 1..100000.
 * `usersPath` gets one line per user, `user,name,country`.
 */
export function generateEvents(path: string, usersPath: string, bytes: number, users = 100_000, seed = 11): void {
  if (!existsSync(usersPath)) {
    mkdirSync(dirname(usersPath), { recursive: true })
    const rand = prng(seed + 1)
    const countries = ['de', 'fr', 'us', 'jp', 'br', 'in', 'ng', 'au']
    const lines: string[] = []
    for (let u = 0; u < users; u++) lines.push(`u${u},name${Math.floor(rand() * 1e9).toString(36)},${countries[u % countries.length]}`)
    const tmp = `${usersPath}.tmp`
    const fd = openSync(tmp, 'w')
    writeSync(fd, `${lines.join('\n')}\n`)
    closeSync(fd)
    renameSync(tmp, usersPath)
  }
  if (existsSync(path) && statSync(path).size >= bytes) return
  mkdirSync(dirname(path), { recursive: true })
  const rand = prng(seed)
  const items = ['book', 'lamp', 'chair', 'desk', 'pen', 'cup', 'phone', 'bag']
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  let written = 0
  let id = 0
  while (written < bytes) {
    const chunk: string[] = []
    for (let i = 0; i < 50_000; i++, id++) chunk.push(`${id},u${Math.floor(rand() * users)},${1 + Math.floor(rand() * 100_000)},${items[id % items.length]}\n`)
    written += writeSync(fd, chunk.join(''))
  }
  closeSync(fd)
  renameSync(tmp, path)
}
