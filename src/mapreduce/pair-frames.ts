// The generic map side's sink for pairs: each pair goes to its reduce partition's batch, and a
// full batch is encoded as one msgpack frame (record-frames.ts) and appended to the map output.
import { encodeFrame } from './record-frames.js'
import type { PartitionFn } from './partitioner.js'
import type { MapOutputWriter } from './shuffle-store.js'
import { BATCH } from './task-batches.js'

export class PairFrames {
  readonly #writer: MapOutputWriter
  readonly #part: PartitionFn
  readonly #flushAboveBytes: number
  readonly #buffers: unknown[][]

  constructor(writer: MapOutputWriter, part: PartitionFn, partitions: number, flushAboveBytes: number) {
    this.#writer = writer
    this.#part = part
    this.#flushAboveBytes = flushAboveBytes
    this.#buffers = Array.from({ length: partitions }, () => [])
  }

  emit(k: unknown, v: unknown): void {
    const r = this.#part(k)
    const b = this.#buffers[r] as unknown[]
    b.push(k, v)
    if (b.length >= BATCH * 2) {
      this.#writer.append(r, encodeFrame(b))
      this.#buffers[r] = []
      if (this.#writer.bufferedBytes > this.#flushAboveBytes) this.#writer.flush()
    }
  }

  /** Appends every partition's pending pairs. */
  finish(): void {
    for (let r = 0; r < this.#buffers.length; r++) {
      const b = this.#buffers[r] as unknown[]
      if (b.length > 0) this.#writer.append(r, encodeFrame(b))
      this.#buffers[r] = []
    }
  }
}
