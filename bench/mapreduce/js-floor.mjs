// A floor, not a product: the least work a JavaScript word count does when the user's code makes a
// string per word, in one process with no engine at all. It reads the file in 1 MiB chunks of
// whole lines (synchronously, as textFile does), decodes them as UTF-8, splits them into lines,
// runs the spelling's per-record functions inline and counts words in a hand-written
// open-addressing table (FNV-1a over the string, hash compared before the string: faster here than
// a Map or an object), then writes `word\tcount` lines. Whatever a generic engine does on top of
// this (tasks, shuffle, merge, output commit) only adds to it, so twice this rate bounds what two
// worker processes can reach on the same machine when every word is a string (issue #18).
// Usage: node js-floor.mjs SPELLING INPUT OUTPUT   (SPELLING: classic | example | lower | objects)
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs'

const [spelling, input, output] = process.argv.slice(2)
const CHUNK = 1 << 20

let slots = new Int32Array(2 << 16)
let mask = (1 << 16) - 1
const keys = []
const counts = []

function fnv(s) {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h | 0
}

function grow() {
  const n = (mask + 1) * 2
  const next = new Int32Array(2 * n)
  const m = n - 1
  for (let p = 0; p <= mask; p++) {
    const e = slots[2 * p + 1]
    if (e === 0) continue
    const h = slots[2 * p]
    let q = (h ^ (h >>> 15)) & m
    while (next[2 * q + 1] !== 0) q = (q + 1) & m
    next[2 * q] = h
    next[2 * q + 1] = e
  }
  slots = next
  mask = m
}

function add(w, n) {
  const h = fnv(w)
  let p = (h ^ (h >>> 15)) & mask
  for (;;) {
    const e = slots[2 * p + 1] - 1
    if (e < 0) break
    if (slots[2 * p] === h && keys[e] === w) { counts[e] += n; return }
    p = (p + 1) & mask
  }
  slots[2 * p] = h
  slots[2 * p + 1] = keys.length + 1
  keys.push(w)
  counts.push(n)
  if (keys.length * 2 > mask) grow()
}

const perLine = {
  classic: (line) => { for (const w of line.split(' ')) if (w !== '') add(w, 1) },
  example: (line) => { for (const w of line.split(/\s+/)) if (w.length > 0) add(w, 1) },
  lower: (line) => { for (const w of line.toLowerCase().split(/ +/)) if (w.length > 0) add(w, 1) },
  objects: (line) => { for (const w of line.split(/\s+/)) if (w) { const r = { word: w.toLowerCase(), n: 1 }; add(r.word, r.n) } },
}[spelling]
if (perLine === undefined || input === undefined || output === undefined) {
  console.error('usage: node js-floor.mjs classic|example|lower|objects INPUT OUTPUT')
  process.exit(2)
}

const fd = openSync(input, 'r')
const size = fstatSync(fd).size
const buf = Buffer.allocUnsafe(CHUNK)
let pos = 0
let held = 0
while (pos < size || held > 0) {
  const got = pos < size ? readSync(fd, buf, held, CHUNK - held, pos) : 0
  pos += got
  const end = held + got
  const last = got === 0 ? end : buf.lastIndexOf(10, end - 1)
  const cut = last < 0 ? end : last
  for (const line of buf.toString('utf8', 0, cut).split('\n')) perLine(line.endsWith('\r') ? line.slice(0, -1) : line)
  const rest = cut < end ? end - cut - 1 : 0
  buf.copy(buf, 0, end - rest, end)
  held = rest
  if (got === 0) break
}
closeSync(fd)
const out = []
for (let e = 0; e < keys.length; e++) out.push(`${keys[e]}\t${counts[e]}`)
writeFileSync(output, `${out.join('\n')}\n`)
