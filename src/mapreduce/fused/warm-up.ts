// Primes V8's type feedback for the fused word count's byte loops, once per process, on a small
// synthetic input that also takes their rare branches (tokens past 16 bytes and at a chunk's end,
// non-ASCII and invalid UTF-8, "\r\n", empty tokens, table and arena growth, several partitions).
// V8 optimises a hot function for what it has seen so far; a branch first taken later throws the
// optimised code away, the rest of that call (a 1 MiB chunk, a whole drain) runs unoptimised and
// the function is compiled again. On the 200 MB bench that was ~40 recompilations and about 1 s
// of CPU per worker in the first job of a process; primed, the first job costs what later ones do.
import { closeSync, openSync } from 'node:fs'
import { devNull } from 'node:os'
import { RAW_COUNT_FRAME } from '../record-frames.js'
import type { MapOutputWriter, ShuffleFetcher } from '../shuffle-store.js'
import type { MapOutputLocation } from '../task-spec.js'
import { RawFrameBuilders } from './raw-frames.js'
import { runSumSave } from './sum-save.js'
import { CountFrameSink } from './word-count.js'
import { ByteWordTable } from './word-table.js'

const PARTITIONS = 3

let primed: Promise<void> | null = null

/** Runs the fused word count's map and reduce loops once on synthetic input (first call only). */
export function warmUpWordCount(): Promise<void> {
  return (primed ??= run())
}

function sample(): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < 600; i++) {
    const line = i % 9 === 0 ? `é${i % 7} ${'x'.repeat(16 + (i % 3))}${i % 5}  "q\\${i % 4}\r` : `w${i} t${i % 13}`
    parts.push(Buffer.from(`${line}\n`))
    if (i % 40 === 0) parts.push(Buffer.from([0x61, 0xff, 0x20, 0xc3, 0x0a]))
  }
  return Buffer.concat(parts)
}

/** Whole-line chunks of `text` of about `size` bytes (no newline after a chunk's last line). */
function* chunks(text: Buffer, size: number): Generator<Buffer> {
  let at = 0
  while (at < text.length) {
    const nl = text.indexOf(10, Math.min(text.length - 1, at + size))
    const end = nl < 0 ? text.length : nl
    yield text.subarray(at, end)
    at = end + 1
  }
}

async function run(): Promise<void> {
  const text = sample()
  const blocks: Buffer[][] = Array.from({ length: PARTITIONS }, () => [])
  const writer: MapOutputWriter = {
    bufferedBytes: 0,
    append: (r, frame) => { (blocks[r] as Buffer[]).push(Buffer.from(frame)) },
    flush: () => {},
    commit: () => [],
    abort: () => {},
  }
  // A small table, so that a few hundred words make it grow (rehash, arena).
  const table = new ByteWordTable(6)
  for (const skipEmpty of [true, false]) {
    for (const chunk of chunks(text, 1024)) table.addLines(chunk, 32, skipEmpty)
    const frames = new RawFrameBuilders(writer, PARTITIONS, RAW_COUNT_FRAME, Number.POSITIVE_INFINITY)
    table.drainBytes(new CountFrameSink(frames, PARTITIONS, 1))
    frames.finish()
  }
  const fetcher: ShuffleFetcher = {
    async *fetch(_shuffleId: number, _location: MapOutputLocation, r: number): AsyncIterable<Uint8Array> {
      yield* blocks[r] as Buffer[]
    },
  }
  const location: MapOutputLocation = { mapId: 0, attempt: 0, workerId: '', address: '', sizes: blocks.map(() => 1) }
  const counters = { recordsOut: 0, shuffleReadBytes: 0 }
  const fd = openSync(devNull, 'w')
  try {
    for (let r = 0; r < PARTITIONS; r++) await runSumSave({ shuffleId: 0 }, { locations: [location], partition: r, fetcher, budgetBytes: Number.POSITIVE_INFINITY, fd, counters })
  } finally {
    closeSync(fd)
  }
}
