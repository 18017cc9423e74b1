// Shuffle block storage (worker side) and fetching (reader side).
//
// A map task writes ONE data file per (shuffleId, mapId, attempt) plus an index: the file holds
// one or more runs, each run holding a segment per reduce partition, so a writer can flush its
// buffers in large chunks whenever memory runs short without re-reading anything. The index lists,
// per reduce partition, the (offset, length) segments in file order. A segment is a sequence of
// frames: u32 little-endian byte length, then one msgpackr-encoded array of records.
//
// Local mode: every worker shares the file system, so `LocalShuffleFetcher` reads the files
// directly. Cluster mode: a worker serves its `ShuffleBlockStore.openBlock` over TCP and a remote
// fetcher implements `ShuffleFetcher` with the same chunk semantics. A fetcher that cannot get a
// block throws a JobError with code ERR_JOB_FETCH_FAILED and `fetchFailed` details (see
// fetch-failed.ts); the scheduler then recomputes that map output.
import type { MapOutputLocation } from './task-spec.js'

export interface BlockId {
  readonly shuffleId: number
  readonly mapId: number
  readonly attempt: number
  readonly reduceId: number
}

export interface MapOutputWriter {
  /** Appends encoded frames for `reduceId` (any order, any number of calls). Buffered. */
  append(reduceId: number, frame: Uint8Array): void
  /** Bytes buffered in memory now (callers flush when it passes their budget). */
  readonly bufferedBytes: number
  /** Writes buffered segments as one run (one large sequential write). */
  flush(): void
  /** Flushes, writes the index, makes the output visible; returns bytes per reduce partition. */
  commit(): number[]
  /** Deletes everything written. */
  abort(): void
}

export interface ShuffleBlockStore {
  /** Starts the map output of one task attempt (attempts never share files). */
  createMapOutput(shuffleId: number, mapId: number, attempt: number, reducers: number): MapOutputWriter
  /**
   * The bytes of one block as chunks of whole frames (for serving to remote fetchers); an empty
   * iterable for an empty block. Throws ERR_JOB_FETCH_FAILED if the output is missing.
   */
  openBlock(block: BlockId): Iterable<Uint8Array>
}

export interface ShuffleFetcher {
  /**
   * Yields the bytes of block (shuffleId, location.mapId, location.attempt, reduceId) as chunks
   * of whole frames. Throws ERR_JOB_FETCH_FAILED (with fetchFailed details) when the block is gone.
   */
  fetch(shuffleId: number, location: MapOutputLocation, reduceId: number): AsyncIterable<Uint8Array>
}
