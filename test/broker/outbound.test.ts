// The outbound queue's buffer reuse: a buffer starts over only when a plain TCP transport has taken
// every byte synchronously; bytes a transport may still hold (pending, TLS, WebSocket) are never overwritten.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Outbound } from '../../src/broker/outbound.js'
import type { Transport } from '../../src/broker/transport.js'

function fakeTransport(kind: 'tcp' | 'tls' | 'ws', pending: number): Transport & { held: Buffer[] } {
  const held: Buffer[] = []
  return {
    kind,
    held,
    pendingBytes: pending,
    needsDrain: false,
    canWrite: true,
    writtenBytes: 0,
    // Keeps the views it was handed, as a socket does while a write is in flight.
    write: (chunks: Buffer[]) => void held.push(...chunks),
    pauseReads: () => {},
    resumeReads: () => {},
    end: () => {},
    destroy: () => {},
  }
}

test('a buffer is reused from its start only after a TCP transport took everything', () => {
  for (const [kind, pending, reuse] of [['tcp', 0, true], ['tcp', 5, false], ['tls', 0, false], ['ws', 0, false]] as const) {
    const t = fakeTransport(kind, pending)
    const out = new Outbound()
    for (let turn = 0; turn < 4; turn++) {
      out.raw(Buffer.from(`turn-${turn} `.repeat(50)))
      out.flush(t, false)
    }
    const [first, ...rest] = t.held
    assert.ok(first !== undefined && rest.length === 3)
    // Held views still show what was written in their turn: nothing was overwritten under them.
    if (!reuse) t.held.forEach((b, turn) => assert.equal(b.toString(), `turn-${turn} `.repeat(50), `${kind} pending ${pending} turn ${turn}`))
    // Reuse: the later turns were written at the start of the same memory as the first.
    const sameStart = rest.every((b) => b.buffer === first.buffer && b.byteOffset === first.byteOffset)
    assert.equal(sameStart, reuse, `${kind} pending ${pending}`)
  }
})

test('a shared view is queued in order between copied bytes, counted, and handed over as the same memory', () => {
  const t = fakeTransport('tcp', 0)
  const out = new Outbound()
  const shared = Buffer.alloc(4096, 0x61)
  out.raw(Buffer.from('head-1 '))
  out.slice(shared, 0, shared.length)
  out.raw(Buffer.from(' mid '))
  out.slice(shared, 0, shared.length)
  assert.equal(out.queued, 7 + 4096 + 5 + 4096)
  assert.equal(out.flush(t, false), 7 + 4096 + 5 + 4096)
  assert.equal(out.queued, 0)
  assert.equal(Buffer.concat(t.held).toString(), `head-1 ${'a'.repeat(4096)} mid ${'a'.repeat(4096)}`)
  // Not copied: the transport got the caller's buffer itself, twice.
  assert.equal(t.held.filter((b) => b === shared).length, 2)
})

test('turns bigger than one buffer rotate two buffers on TCP once the socket has written everything, never while it holds bytes', () => {
  for (const pending of [0, 7]) {
    const t = fakeTransport('tcp', pending)
    // What a socket would have sent: a copy taken when the bytes were handed over.
    const sent: Buffer[] = []
    const write = t.write
    t.write = (chunks: Buffer[]) => {
      for (const c of chunks) sent.push(Buffer.from(c))
      write(chunks)
    }
    const out = new Outbound()
    const big = (turn: number, k: number): Buffer => Buffer.alloc(100 * 1024, 97 + ((turn * 4 + k) % 26))
    const turns = 8
    for (let turn = 0; turn < turns; turn++) {
      // 400 KiB a turn: more than one buffer (MAX_OUT is 256 KiB).
      for (let k = 0; k < 4; k++) out.raw(big(turn, k))
      out.flush(t, false)
    }
    const want = Buffer.concat(Array.from({ length: turns * 4 }, (_, x) => big(Math.floor(x / 4), x % 4)))
    assert.ok(Buffer.concat(sent).equals(want), `pending ${pending}: the bytes handed over`)
    // Bytes a socket still holds are never overwritten by a later turn.
    if (pending > 0) assert.ok(Buffer.concat(t.held).equals(want), `pending ${pending}: held bytes intact`)
    // Memory behind the last four turns' chunks.
    const memory = new Set(t.held.slice(-8).map((b) => b.buffer))
    if (pending === 0) assert.ok(memory.size <= 2, `pending 0: ${memory.size} buffers for the last four turns, expected the same two`)
    else assert.ok(memory.size >= 4, `pending ${pending}: fresh memory every turn, got ${memory.size} buffers`)
  }
})

test('slices adjacent in one base buffer join into one chunk; gaps, other buffers and copied bytes keep their order', () => {
  const t = fakeTransport('tcp', 0)
  const out = new Outbound()
  const slab = Buffer.alloc(64)
  for (let i = 0; i < 64; i++) slab[i] = 0x41 + (i % 26)
  const other = Buffer.from('<other>')
  out.slice(slab, 0, 10)
  out.slice(slab, 10, 20) // adjacent: joins
  out.slice(slab, 20, 30) // adjacent: joins
  out.slice(slab, 31, 40) // a gap of one byte: a new run
  out.slice(other, 0, other.length) // another buffer
  out.slice(slab, 40, 50) // adjacent to a run that is no longer the last: a new run
  out.raw(Buffer.from('|raw|'))
  out.slice(slab, 50, 60)
  // Views of the same memory that are different Buffer objects do not join (identity, not .buffer).
  const a = slab.subarray(60, 62)
  const b = slab.subarray(62, 64)
  out.slice(a, 0, a.length)
  out.slice(b, 0, b.length)
  assert.equal(out.queued, 30 + 9 + 7 + 10 + 5 + 10 + 4)
  assert.ok(out.hasChunks)
  assert.equal(out.flush(t, false), 75)
  const want = slab.subarray(0, 30).toString() + slab.subarray(31, 40).toString() + '<other>' + slab.subarray(40, 50).toString() + '|raw|' + slab.subarray(50, 64).toString()
  assert.equal(Buffer.concat(t.held).toString(), want)
  assert.deepEqual(t.held.map((b) => b.length), [30, 9, 7, 10, 5, 10, 2, 2], 'three adjacent slices went as one chunk')
  assert.ok(t.held[0]?.buffer === slab.buffer, 'not copied')
  assert.ok(!out.hasChunks)
  // A run left open at clear() is dropped with the rest.
  out.slice(slab, 0, 8)
  out.clear()
  assert.ok(!out.hasChunks)
  assert.equal(out.flush(t, false), 0)
})
